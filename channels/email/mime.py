"""Reading fields out of a parsed mail (``email`` with ``policy=default``). Pure.

Every reader here is total: a header the policy cannot parse, a part that cannot be
decoded or an attachment over the limit yields ``''``/``None`` or an :class:`Unsupported`
note appended to the caller's list, never an exception. Bodies are decoded with
:func:`channels.email.text.decode_bytes` (its fallback order is documented there).
"""

from __future__ import annotations

import email.header
import email.utils
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage, Message

from channels.email.ids import split_message_ids
from channels.email.text import decode_bytes, html_to_text
from inbox.domain.content import Unsupported

__all__ = [
    "Attachment",
    "body_text",
    "decode_header_text",
    "first_address",
    "header",
    "payload_parts",
    "payload_text",
    "read_attachments",
    "sent_date",
    "thread_refs",
]


@dataclass(frozen=True, slots=True)
class Attachment:
    data: bytes
    mime_type: str
    filename: str | None
    inline: bool = False


def header(msg: Message, name: str) -> str:
    """A header's decoded value ('' when absent or unreadable), whitespace collapsed.

    Decoded from the raw header, not from the policy's value: bytes sent raw (8-bit, no
    RFC 2047) and encoded words whose charset is missing, unknown or wrong would come
    out of the policy as U+FFFD or as mojibake; here each piece goes through
    :func:`~channels.email.text.decode_bytes`, like the bodies."""
    raw = _raw_header(msg, name)
    if raw is None:
        return ""
    return " ".join(decode_header_text(raw).split())


def decode_header_text(raw: str) -> str:
    """A raw header value (as ``email`` keeps it: 8-bit bytes as surrogate escapes) as
    text: raw bytes decoded as a body would be, then every RFC 2047 encoded word by its
    bytes and label through ``decode_bytes``. Never raises."""
    text = raw
    if any("\udc80" <= ch <= "\udcff" for ch in text):
        text = decode_bytes(text.encode("ascii", "surrogateescape"), None)
    if "=?" not in text:
        return text
    try:
        chunks = email.header.decode_header(text)
    except Exception:  # a malformed encoded word: the text as it is
        return text
    out: list[str] = []
    for data, charset in chunks:
        if isinstance(data, str):
            out.append(data)
        else:
            label = None if charset in (None, "unknown-8bit") else charset
            out.append(decode_bytes(data, label))
    return "".join(out)


def _raw_header(msg: Message, name: str) -> str | None:
    wanted = name.lower()
    try:
        for key, value in msg.raw_items():
            if key.lower() == wanted:
                return str(value)
    except Exception:  # noqa: S110 - a message the policy cannot even list: no value
        pass
    return None


def first_address(msg: EmailMessage, name: str) -> tuple[str, str]:
    """(display name, address) of the first mailbox in a header; ('', '') if none. The
    display name comes from the header as :func:`header` decodes it; the address from
    the policy's parse when it has one."""
    text = header(msg, name)
    parsed = email.utils.getaddresses([text]) if text else []
    display, addr = parsed[0] if parsed else ("", "")
    try:
        value = msg.get(name)
        addresses = getattr(value, "addresses", ())
        if addresses:
            first = addresses[0]
            policy_addr = str(first.addr_spec or "").strip("<>")
            if policy_addr and "@" in policy_addr:
                addr = policy_addr
            if not display:
                display = str(first.display_name or "")
    except Exception:  # noqa: S110 - a malformed address header: the parse above stands
        pass
    return display, addr


def thread_refs(msg: EmailMessage) -> tuple[str, ...]:
    refs: list[str] = []
    in_reply_to = split_message_ids(header(msg, "In-Reply-To"))
    for ref in [*in_reply_to, *reversed(split_message_ids(header(msg, "References")))]:
        if ref not in refs:
            refs.append(ref)
    return tuple(refs)


def sent_date(msg: EmailMessage) -> datetime | None:
    raw = header(msg, "Date")
    if not raw:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def payload_parts(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    return []


def payload_text(part: Message) -> str:
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


def body_text(msg: EmailMessage, notes: list[Unsupported]) -> str:
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


def read_attachments(msg: EmailMessage, limit: int, notes: list[Unsupported]) -> list[Attachment]:
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
