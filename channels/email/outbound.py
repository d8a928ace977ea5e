"""Outbound: an :class:`OutboundMessage` → a MIME mail. Pure (the adapter reads the
attachments' bytes from the media store first).

The mail is ``multipart/alternative`` (text/plain, then a simple escaped HTML part) inside
``multipart/mixed`` when there are attachments. Buttons have no e-mail equivalent: URL
buttons become links (numbered lines in the text part, ``<a>`` in the HTML part), reply
buttons a numbered list the customer can answer with a number. Threading headers come
from the core's delivery worker: ``In-Reply-To`` = the customer's latest mail,
``References`` = the conversation's earlier mails, oldest first (RFC 5322 §3.6.4).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Final

from channels.email.ids import normalise_subject, reply_message_id
from inbox.domain.content import (
    Audio,
    Buttons,
    File,
    Image,
    Part,
    Video,
    plain_text,
)
from inbox.domain.messages import OutboundMessage

__all__ = ["OutboundFile", "build_mail", "media_parts"]

#: RFC 5322 §2.1.1 allows 998 characters per header line; a long thread's References is
#: folded by the policy, but keeping only the newest ids keeps it readable (Gmail and
#: Thunderbird thread on the newest few; RFC 5322 §3.6.4 allows trimming the middle).
MAX_REFERENCES: Final = 20


@dataclass(frozen=True, slots=True)
class OutboundFile:
    data: bytes
    mime_type: str
    filename: str


def media_parts(parts: Sequence[Part]) -> list[Image | File | Audio | Video]:
    """The parts that travel as attachments."""
    return [p for p in parts if isinstance(p, Image | File | Audio | Video)]


def build_mail(
    message: OutboundMessage,
    *,
    address: str,
    channel_name: str,
    secret: str,
    files: Sequence[OutboundFile],
    now: datetime,
    automatic: bool = False,
) -> EmailMessage:
    """The mail for ``message``; its ``Message-ID`` carries our reply token."""
    local, _, domain = address.rpartition("@")
    display = (
        f"{message.author_name} \u2014 {channel_name}" if message.author_name else channel_name
    )
    mail = EmailMessage()
    mail["From"] = Address(display_name=display, username=local, domain=domain)
    mail["To"] = message.recipient
    mail["Subject"] = _subject(message.subject)
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = reply_message_id(secret, message.message_id, domain)
    if message.in_reply_to:
        mail["In-Reply-To"] = message.in_reply_to
    references = list(message.references[-MAX_REFERENCES:])
    if message.in_reply_to and message.in_reply_to not in references:
        references.append(message.in_reply_to)
    if references:
        mail["References"] = " ".join(references)
    if automatic:
        mail["Auto-Submitted"] = "auto-replied"  # RFC 3834 §5: no auto-reply loops
    text = _text(message.parts)
    mail.set_content(text, cte="quoted-printable")
    mail.add_alternative(_html(message.parts), subtype="html", cte="quoted-printable")
    for item in files:
        maintype, _, subtype = item.mime_type.partition("/")
        mail.add_attachment(
            item.data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=item.filename,
        )
    return mail


def _subject(subject: str) -> str:
    clean = " ".join(subject.split())
    if not clean:
        return "Re: your message"
    return clean if normalise_subject(clean) != clean else f"Re: {clean}"


def _text(parts: Sequence[Part]) -> str:
    shown = [p for p in parts if not isinstance(p, Image | File | Audio | Video)]
    text = plain_text(shown)
    return text if text.strip() else "(see the attachment)"


def _html(parts: Sequence[Part]) -> str:
    blocks: list[str] = []
    for part in parts:
        if isinstance(part, Image | File | Audio | Video):
            continue
        if isinstance(part, Buttons):
            blocks.append(_paragraph(part.text))
            items = []
            for n, button in enumerate(part.buttons, 1):
                if button.kind == "url" and button.url:
                    link = html.escape(button.url, quote=True)
                    items.append(f'<li><a href="{link}">{html.escape(button.title)}</a></li>')
                else:
                    items.append(f"<li>{n}. {html.escape(button.title)}</li>")
            blocks.append('<ul style="list-style:none;padding:0">' + "".join(items) + "</ul>")
            continue
        blocks.append(_paragraph(plain_text([part])))
    body = "".join(blocks) or "<p>(see the attachment)</p>"
    return f'<!DOCTYPE html><html><body><div dir="auto">{body}</div></body></html>'


def _paragraph(text: str) -> str:
    return "<p>" + html.escape(text).replace("\n", "<br>\n") + "</p>"
