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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from typing import Final

from channels.email.classify import MailKind, bounce_details, classify
from channels.email.ids import (
    missing_message_id,
    normalise_message_id,
    normalise_subject,
    our_message_ids,
)
from channels.email.mime import (
    Attachment,
    body_text,
    first_address,
    header,
    read_attachments,
    sent_date,
    thread_refs,
)
from channels.email.text import strip_quote
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
    "headers_only",
    "parse_mail",
    "to_inbound",
]

#: Per attachment; bigger ones are dropped with a note (the issue's "option-free" 25 MiB,
#: the common provider limit for a whole mail, e.g. Gmail's 25 MB).
DEFAULT_MAX_ATTACHMENT_BYTES: Final = 25 * 1024 * 1024
_TRUNCATED_NOTE: Final = "\n\n[The text was shortened; the full mail is in the original message.]"


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

    external_id = normalise_message_id(header(msg, "Message-ID")) or missing_message_id(raw)
    from_name, from_addr = first_address(msg, "From")
    _, reply_addr = first_address(msg, "Reply-To")
    subject = header(msg, "Subject")
    refs = thread_refs(msg)
    sender = SenderProfile(
        external_user_id=from_addr.lower() or "unknown-sender",
        display_name=from_name,
        email=from_addr.lower(),
    )
    kind = classify(msg, from_addr, own_address)
    base = ParsedMail(
        external_id=external_id,
        kind=kind,
        sender=sender,
        thread_key=(reply_addr or from_addr).lower(),
        subject=subject,
        thread_refs=refs,
        text="",
        sent_at=sent_date(msg),
    )
    if kind == "bounce":
        bounced, reason = bounce_details(msg)
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
    full_text = body_text(msg, notes)
    attachments = read_attachments(msg, max_attachment_bytes, notes)
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


def headers_only(mail: ParsedMail, size: int, limit: int) -> ParsedMail:
    """``mail`` read from its headers alone (it is over ``limit``): no text, no
    attachments, a note saying so."""
    note = Unsupported(
        "oversize_mail",
        f"The mail is {size / 2**20:.1f} MiB, over the {limit / 2**20:.0f} MiB limit: only "
        "its headers were read. Open it in the mailbox itself.",
    )
    return dataclasses.replace(mail, text="", attachments=(), notes=(*mail.notes, note))


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


_MEDIA: Final[dict[str, Callable[[MediaRef], Part]]] = {
    "image": lambda ref: Image(ref),
    "audio": lambda ref: Audio(ref, voice=False),
    "video": lambda ref: Video(ref),
}


def _media_part(ref: MediaRef) -> Part:
    """Image/Audio/Video by the attachment's main MIME type, a File for anything else."""
    make = _MEDIA.get(ref.mime_type.partition("/")[0])
    return make(ref) if make is not None else File(ref)
