"""Which kind of mail this is, and what a bounce says. Pure.

Loop protection (RFC 3834, RFC 3464, RFC 2369): auto-replies (``Auto-Submitted`` other
than ``no``, ``X-Autoreply``, ``X-Autorespond``, ``Precedence: bulk|junk|list|
auto_reply``), bounces (``multipart/report; report-type=delivery-status``, or from
``MAILER-DAEMON``), mailing lists (``List-Id``/``List-Unsubscribe`` with bulk precedence)
and an empty return path (``Return-Path: <>``) never become customer messages; our own
address in From marks our own reply copied back into the mailbox.
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from typing import Final, Literal

from channels.email.ids import normalise_message_id
from channels.email.mime import header, payload_parts, payload_text

__all__ = ["MailKind", "bounce_details", "classify"]

MailKind = Literal["customer", "auto_reply", "bounce", "list", "no_return_path", "ours"]

_AUTO_PRECEDENCE: Final = frozenset({"bulk", "junk", "list", "auto_reply"})


def classify(msg: EmailMessage, from_addr: str, own_address: str) -> MailKind:
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
    auto = header(msg, "Auto-Submitted").lower()
    if (auto and auto != "no") or header(msg, "X-Autoreply") or header(msg, "X-Autorespond"):
        return "auto_reply"
    precedence = header(msg, "Precedence").lower()
    if precedence in _AUTO_PRECEDENCE:
        return "list" if precedence in ("bulk", "list") else "auto_reply"
    if header(msg, "List-Id") or header(msg, "List-Unsubscribe"):
        return "list"
    return_path = msg.get("Return-Path")
    if return_path is not None and str(return_path).strip() in ("<>", ""):
        return "no_return_path"
    return "customer"


def bounce_details(msg: EmailMessage) -> tuple[str | None, str]:
    """(Message-ID of the bounced mail, the diagnostic) from a DSN (RFC 3464)."""
    bounced: str | None = None
    reason = ""
    for part in msg.walk():
        content_type = part.get_content_type()
        if content_type == "message/delivery-status":
            for sub in payload_parts(part):
                diag = str(sub.get("Diagnostic-Code") or "")
                status = str(sub.get("Status") or "")
                if diag and not reason:
                    reason = diag.partition(";")[2].strip() or diag
                elif status and not reason:
                    reason = f"status {status}"
            if not reason:
                text = payload_text(part)
                found = re.search(r"^Diagnostic-Code:\s*[^;]*;\s*(.+)$", text, re.M | re.I)
                reason = found.group(1).strip() if found else reason
        elif content_type in ("text/rfc822-headers", "message/rfc822") and bounced is None:
            if content_type == "message/rfc822":
                inner = next(iter(payload_parts(part)), None)
                raw_id = str(inner.get("Message-ID") or "") if inner is not None else ""
            else:
                text = payload_text(part)
                found = re.search(r"^Message-ID:\s*(.+)$", text, re.M | re.I)
                raw_id = found.group(1) if found else ""
            bounced = normalise_message_id(raw_id)
    return bounced, " ".join(reason.split())
