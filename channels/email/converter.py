"""Inbound mail → the core's vocabulary. Pure: bytes in, values out (no I/O).

:func:`parse_mail` reads one raw RFC 5322 message with ``email`` (``policy=default``) and
never raises: whatever cannot be read becomes an :class:`Unsupported` part that tells
the operator what was dropped, and the raw mail is always kept (the adapter stores it as
``original.eml``). :func:`to_inbound` then builds the :class:`InboundMessage` once the
adapter has stored the attachments.

Ids (unique per channel, stable across re-reads): ``external_id`` is the mail's
Message-ID normalised to ``<local@domain>``; a mail without one gets
``<sha256-of-the-raw-bytes@missing-message-id>``. Re-reading a mailbox after a restart
or a UIDVALIDITY change therefore produces the same ids, and the core's
``(channel, external_id)`` key drops the repeats.

Threading fields: ``thread_key`` = Reply-To (else From), ``thread_refs`` = In-Reply-To
then References newest first, ``thread_message_ids`` = our message ids from valid reply
tokens in those (see :mod:`channels.email.ids`), ``thread_subject`` = the subject
without Re:/Fwd:/Ответ: prefixes.

Loop protection (RFC 3834, RFC 3464, RFC 2369): auto-replies (``Auto-Submitted`` other
than ``no``, ``X-Autoreply``, ``X-Autorespond``, ``Precedence: bulk|junk|list|
auto_reply``), bounces (``multipart/report; report-type=delivery-status``, or from
``MAILER-DAEMON``), mailing lists (``List-Id``/``List-Unsubscribe`` with bulk precedence)
and an empty return path (``Return-Path: <>``) never become customer messages; a bounce
of one of our own mails becomes a FAILED status for it.
"""

from __future__ import annotations

import dataclasses
import email
import email.policy
import email.utils
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage, Message
from typing import Final, Literal

from channels.email.ids import (
    missing_message_id,
    normalise_message_id,
    normalise_subject,
    our_message_ids,
    split_message_ids,
)
from channels.email.text import decode_bytes, html_to_text, strip_quote
from inbox.domain.channel_io import StatusUpdate
from inbox.domain.content import (
    MAX_TEXT_BYTES,
    Audio,
    File,
    Image,
    MediaRef,
    Part,
    Text,
    Unsupported,
    Video,
)
from inbox.domain.ids import ChannelId
from inbox.domain.messages import DeliveryStatus, InboundMessage, SenderProfile

__all__ = [
    "DEFAULT_MAX_ATTACHMENT_BYTES",
    "Attachment",
    "MailKind",
    "ParsedMail",
    "bounce_status",
    "parse_mail",
    "to_inbound",
]

#: Per attachment; bigger ones are dropped with a note (the issue's "option-free" 25 MiB,
#: the common provider limit for a whole mail, e.g. Gmail's 25 MB).
DEFAULT_MAX_ATTACHMENT_BYTES: Final = 25 * 1024 * 1024
_TRUNCATED_NOTE: Final = "\n\n[The text was shortened; the full mail is in the original message.]"

MailKind = Literal["customer", "auto_reply", "bounce", "list", "no_return_path", "ours"]


@dataclass(frozen=True, slots=True)
class Attachment:
    data: bytes
    mime_type: str
    filename: str | None
    inline: bool = False


@dataclass(frozen=True, slots=True)
class ParsedMail:
    """What one mail says, before its files are stored."""

    external_id: str
    kind: MailKind
    sender: SenderProfile
    thread_key: str
    subject: str
    thread_refs: tuple[str, ...]
    text: str
    attachments: tuple[Attachment, ...] = ()
    notes: tuple[Unsupported, ...] = ()
    sent_at: datetime | None = None
    #: For a bounce: the Message-ID of the mail that bounced and the server's diagnostic.
    bounced_id: str | None = None
    bounce_reason: str = ""
    full_text: str = field(default="", repr=False)


def parse_mail(
    raw: bytes,
    *,
    own_address: str = "",
    max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
) -> ParsedMail:
    """Read one mail; never raises (a broken mail yields notes instead of content)."""
    notes: list[Unsupported] = []
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
    except Exception as exc:  # the parser is lenient; this is the last line of defence
        return _unreadable(raw, f"{type(exc).__name__}")
    assert isinstance(msg, EmailMessage)

    external_id = normalise_message_id(_header(msg, "Message-ID")) or missing_message_id(raw)
    from_name, from_addr = _address(msg, "From")
    _, reply_addr = _address(msg, "Reply-To")
    subject = _header(msg, "Subject")
    refs = _thread_refs(msg)
    sender = SenderProfile(
        external_user_id=from_addr.lower() or "unknown-sender",
        display_name=from_name,
        email=from_addr.lower(),
    )
    kind = _classify(msg, from_addr, own_address)
    base = ParsedMail(
        external_id=external_id,
        kind=kind,
        sender=sender,
        thread_key=(reply_addr or from_addr).lower(),
        subject=subject,
        thread_refs=refs,
        text="",
        sent_at=_date(msg),
    )
    if kind == "bounce":
        bounced, reason = _bounce_details(msg)
        return _replace(base, bounced_id=bounced, bounce_reason=reason)
    if kind != "customer":
        return base

    defects = [d for part in msg.walk() for d in part.defects]
    if defects:
        names = sorted({type(d).__name__ for d in defects})
        notes.append(
            Unsupported(
                "malformed_mail",
                "The mail is not well-formed MIME ("
                + ", ".join(names[:5])
                + "); what could be read is shown, the original message has everything.",
            )
        )
    full_text = _body_text(msg, notes)
    attachments = _attachments(msg, max_attachment_bytes, notes)
    text = strip_quote(full_text) if full_text else ""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_TEXT_BYTES:
        budget = MAX_TEXT_BYTES - len(_TRUNCATED_NOTE.encode()) - 4
        text = text.encode("utf-8", "surrogatepass")[:budget].decode("utf-8", "ignore")
        text += _TRUNCATED_NOTE
    return _replace(
        base, text=text, full_text=full_text, attachments=tuple(attachments), notes=tuple(notes)
    )


def to_inbound(
    channel_id: ChannelId,
    mail: ParsedMail,
    *,
    secret: str,
    stored: Sequence[MediaRef | None],
    original: MediaRef | None,
) -> InboundMessage:
    """The customer message: the new text, the attachments (``stored[i]`` is where
    ``mail.attachments[i]`` went, ``None`` if it could not be stored), the notes and the
    original mail as a file the operator can open."""
    parts: list[Part] = []
    if mail.text.strip():
        parts.append(Text(mail.text))
    for attachment, ref in zip(mail.attachments, stored, strict=True):
        if ref is None:
            parts.append(
                Unsupported(
                    "attachment",
                    f"The attachment {attachment.filename or 'without a name'} could not be "
                    "stored; it is still in the original message.",
                )
            )
            continue
        parts.append(_media_part(ref))
    parts.extend(mail.notes)
    if original is not None:
        parts.append(File(original, "Original message"))
    if not parts:
        parts.append(Unsupported("empty_mail", "The mail has no text and no attachments."))
    return InboundMessage(
        channel_id=channel_id,
        external_id=mail.external_id,
        sender=mail.sender,
        parts=tuple(parts),
        sent_at=mail.sent_at,
        thread_key=mail.thread_key or mail.sender.external_user_id,
        reply_to_external_id=mail.thread_refs[0] if mail.thread_refs else None,
        threading="references",
        thread_refs=mail.thread_refs,
        thread_message_ids=tuple(our_message_ids(secret, mail.thread_refs)),
        thread_subject=normalise_subject(mail.subject) or None,
    )


def bounce_status(mail: ParsedMail, secret: str) -> StatusUpdate | None:
    """A FAILED status for our own mail that bounced; ``None`` for anyone else's."""
    if mail.kind != "bounce" or not mail.bounced_id:
        return None
    if not our_message_ids(secret, [mail.bounced_id]):
        return None
    reason = mail.bounce_reason or "no reason given"
    return StatusUpdate(
        external_id=mail.bounced_id,
        status=DeliveryStatus.FAILED,
        error=f"The mail bounced: {reason}"[:500],
    )


# --------------------------------------------------------------------------- helpers


def _replace(mail: ParsedMail, **changes: object) -> ParsedMail:
    return dataclasses.replace(mail, **changes)  # type: ignore[arg-type]


def _unreadable(raw: bytes, why: str) -> ParsedMail:
    return ParsedMail(
        external_id=missing_message_id(raw),
        kind="customer",
        sender=SenderProfile(external_user_id="unknown-sender"),
        thread_key="",
        subject="",
        thread_refs=(),
        text="",
        notes=(
            Unsupported(
                "malformed_mail",
                f"The mail could not be read at all ({why}); open the original message.",
            ),
        ),
    )


def _header(msg: Message, name: str) -> str:
    """A header's decoded value ('' when absent or unreadable); RFC 2047 words decoded."""
    try:
        value = msg.get(name)
    except Exception:  # a header the policy cannot parse
        value = msg.get_all(name, failobj=[""])[0] if hasattr(msg, "get_all") else ""
    if value is None:
        return ""
    return " ".join(str(value).split())


def _address(msg: EmailMessage, name: str) -> tuple[str, str]:
    """(display name, address) of the first mailbox in a header; ('', '') if none."""
    try:
        header = msg.get(name)
        addresses = getattr(header, "addresses", ())
        if addresses:
            first = addresses[0]
            return str(first.display_name or ""), str(first.addr_spec or "").strip("<>")
    except Exception:  # noqa: S110 - a malformed address header: fall back to parseaddr
        pass
    raw = _header(msg, name)
    display, addr = email.utils.parseaddr(raw)
    return display, addr


def _thread_refs(msg: EmailMessage) -> tuple[str, ...]:
    refs: list[str] = []
    in_reply_to = split_message_ids(_header(msg, "In-Reply-To"))
    for ref in [*in_reply_to, *reversed(split_message_ids(_header(msg, "References")))]:
        if ref not in refs:
            refs.append(ref)
    return tuple(refs)


def _date(msg: EmailMessage) -> datetime | None:
    raw = _header(msg, "Date")
    if not raw:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_AUTO_PRECEDENCE: Final = frozenset({"bulk", "junk", "list", "auto_reply"})


def _classify(msg: EmailMessage, from_addr: str, own_address: str) -> MailKind:
    if own_address and from_addr.lower() == own_address.lower():
        return "ours"  # our own reply, copied back into the mailbox (Bcc, a Sent rule)
    content_type = msg.get_content_type()
    report_type = str(msg.get_param("report-type", "", header="content-type") or "").lower()
    local = from_addr.partition("@")[0].lower()
    if (content_type == "multipart/report" and report_type == "delivery-status") or local in (
        "mailer-daemon",
        "postmaster",
    ):
        return "bounce"
    auto = _header(msg, "Auto-Submitted").lower()
    if (auto and auto != "no") or _header(msg, "X-Autoreply") or _header(msg, "X-Autorespond"):
        return "auto_reply"
    precedence = _header(msg, "Precedence").lower()
    if precedence in _AUTO_PRECEDENCE:
        return "list" if precedence in ("bulk", "list") else "auto_reply"
    if _header(msg, "List-Id") or _header(msg, "List-Unsubscribe"):
        return "list"
    return_path = msg.get("Return-Path")
    if return_path is not None and str(return_path).strip() in ("<>", ""):
        return "no_return_path"
    return "customer"


def _bounce_details(msg: EmailMessage) -> tuple[str | None, str]:
    """(Message-ID of the bounced mail, the diagnostic) from a DSN (RFC 3464)."""
    bounced: str | None = None
    reason = ""
    for part in msg.walk():
        content_type = part.get_content_type()
        if content_type == "message/delivery-status":
            for sub in _iter_payload(part):
                diag = str(sub.get("Diagnostic-Code") or "")
                status = str(sub.get("Status") or "")
                if diag and not reason:
                    reason = diag.partition(";")[2].strip() or diag
                elif status and not reason:
                    reason = f"status {status}"
            if not reason:
                text = _raw_payload_text(part)
                found = re.search(r"^Diagnostic-Code:\s*[^;]*;\s*(.+)$", text, re.M | re.I)
                reason = found.group(1).strip() if found else reason
        elif content_type in ("text/rfc822-headers", "message/rfc822") and bounced is None:
            if content_type == "message/rfc822":
                inner = next(iter(_iter_payload(part)), None)
                raw_id = str(inner.get("Message-ID") or "") if inner is not None else ""
            else:
                text = _raw_payload_text(part)
                found = re.search(r"^Message-ID:\s*(.+)$", text, re.M | re.I)
                raw_id = found.group(1) if found else ""
            bounced = normalise_message_id(raw_id)
    return bounced, " ".join(reason.split())


def _iter_payload(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    return []


def _raw_payload_text(part: Message) -> str:
    data = part.get_payload(decode=True)
    if isinstance(data, bytes):
        return decode_bytes(data, part.get_content_charset())
    payload = part.get_payload()
    return payload if isinstance(payload, str) else ""


def _part_text(part: Message) -> str:
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        payload = part.get_payload()
        return payload if isinstance(payload, str) else ""
    return decode_bytes(data, part.get_content_charset()).replace("\r\n", "\n")


def _body_text(msg: EmailMessage, notes: list[Unsupported]) -> str:
    """The text of the mail: the text/plain alternative if any, else the HTML one turned
    into text (quotes dropped at the HTML level, where they are marked reliably)."""
    try:
        body = msg.get_body(preferencelist=("plain", "html"))
    except Exception:  # a structure get_body cannot walk
        body = None
    if body is None:
        if msg.is_multipart():
            return ""
        if msg.get_content_maintype() != "text":
            return ""
        body = msg
    text = _part_text(body)
    if body.get_content_subtype() == "html":
        text = html_to_text(text)
    if "\ufffd" in text:
        notes.append(
            Unsupported(
                "undecodable_text",
                "Some characters of the mail could not be decoded and show as \ufffd.",
            )
        )
    return text.strip()


def _attachments(msg: EmailMessage, limit: int, notes: list[Unsupported]) -> list[Attachment]:
    found: list[Attachment] = []
    try:
        candidates = list(msg.iter_attachments()) if msg.is_multipart() else []
    except Exception:
        candidates = []
    # Inline images of multipart/related (signatures, pasted screenshots) are not
    # "attachments" to iter_attachments; walk for them too.
    seen = {id(p) for p in candidates}
    for part in msg.walk():
        if id(part) in seen or part.is_multipart() or part is msg:
            continue
        if part.get_content_maintype() == "image" and part.get("Content-ID"):
            candidates.append(part)
            seen.add(id(part))
    for part in candidates:
        _collect(part, limit, notes, found)
    return found


def _collect(part: Message, limit: int, notes: list[Unsupported], out: list[Attachment]) -> None:
    mime = part.get_content_type()
    try:
        filename = part.get_filename()
    except Exception:
        filename = None
    if mime == "message/rfc822" and not filename:
        filename = "attached-message.eml"
    try:
        if mime == "message/rfc822":
            inner = part.get_payload()
            first = inner[0] if isinstance(inner, list) and inner else None
            data = first.as_bytes() if isinstance(first, Message) else b""
        else:
            decoded = part.get_payload(decode=True)
            data = decoded if isinstance(decoded, bytes) else b""
    except Exception as exc:
        notes.append(
            Unsupported(
                "attachment",
                f"The attachment {filename or 'without a name'} could not be decoded "
                f"({type(exc).__name__}); it is still in the original message.",
            )
        )
        return
    if len(data) > limit:
        notes.append(
            Unsupported(
                "attachment",
                f"The attachment {filename or 'without a name'} ({_mib(len(data))}) is over "
                f"the {_mib(limit)} limit and was not stored; it is still in the original "
                "message.",
            )
        )
        return
    inline = str(part.get("Content-Disposition") or "").lower().startswith("inline") or bool(
        part.get("Content-ID")
    )
    out.append(Attachment(data=data, mime_type=mime, filename=filename, inline=inline))


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


_MEDIA: Final[dict[str, Callable[[MediaRef], Part]]] = {
    "image": lambda ref: Image(ref),
    "audio": lambda ref: Audio(ref, voice=False),
    "video": lambda ref: Video(ref),
}


def _media_part(ref: MediaRef) -> Part:
    """Image/Audio/Video by the attachment's main MIME type, a File for anything else."""
    make = _MEDIA.get(ref.mime_type.partition("/")[0])
    return make(ref) if make is not None else File(ref)
