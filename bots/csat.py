"""Customer satisfaction: the rating request the bot sends when a conversation is
resolved, and reading the customer's answer (a pressed 1-5 button, a bare digit where the
channel has no buttons, or the web chat's ``csat`` frame, which arrives as a button
reply), with an optional comment in the same message."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bots.flow import BotFlow
from inbox.domain.content import Button, ButtonReply, Buttons, Part, Text

__all__ = ["CSAT_PAYLOAD_PREFIX", "Rating", "rating_of", "request_parts"]

CSAT_PAYLOAD_PREFIX = "csat:"
_DIGIT = re.compile(r"\s*([1-5])\s*(?:[.)!,:;-]\s*(.*))?\s*", re.S)
MAX_COMMENT_CHARS = 2000


@dataclass(frozen=True, slots=True)
class Rating:
    rating: int
    comment: str = ""


def request_parts(flow: BotFlow) -> tuple[Part, ...]:
    """The rating request: the flow's ``csat_request`` text with buttons 1..5 (channels
    without buttons show them numbered, and a digit answers)."""
    buttons = tuple(Button(str(n), payload=f"{CSAT_PAYLOAD_PREFIX}{n}") for n in range(1, 6))
    return (Buttons(flow.text("csat_request"), buttons),)


def rating_of(parts: Sequence[Part]) -> Rating | None:
    """The customer's rating in a message, or ``None`` when it is not one."""
    comment = " ".join(p.text.strip() for p in parts if isinstance(p, Text)).strip()
    for part in parts:
        if isinstance(part, ButtonReply) and part.payload.startswith(CSAT_PAYLOAD_PREFIX):
            raw = part.payload.removeprefix(CSAT_PAYLOAD_PREFIX)
            if raw in {"1", "2", "3", "4", "5"}:
                return Rating(int(raw), comment[:MAX_COMMENT_CHARS])
            return None
    # Only what the customer typed counts: an e-mail reply also carries the original
    # mail as a file, and a photo's caption is not an answer.
    texts = [p for p in parts if isinstance(p, Text)]
    if len(texts) == 1 and not any(isinstance(p, ButtonReply) for p in parts):
        m = _DIGIT.fullmatch(texts[0].text)
        if m is not None:
            return Rating(int(m.group(1)), (m.group(2) or "").strip()[:MAX_COMMENT_CHARS])
    return None
