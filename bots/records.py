"""What the bots feature stores: each scope's business hours and bot flow, and the bot's
session with each conversation it talks in (where the dialogue is, what it collected, which
customer message it answered last, the CSAT request and answer).

A *scope* is ``"default"`` (the whole inbox) or a routing queue's id; the root resolves
queue names, so this feature never reads routing's records. Times are timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, NewType

from inbox.domain.ids import ConversationId

__all__ = ["DEFAULT_SCOPE", "BotSession", "Scope", "ScopeRecord", "SessionState"]

Scope = NewType("Scope", str)

#: The whole inbox: what a queue without its own hours or flow uses.
DEFAULT_SCOPE = Scope("default")


@dataclass(frozen=True, slots=True)
class ScopeRecord:
    """A scope's settings as stored: ``hours`` is a schedule document
    (``bots.hours.schedule_to_json``), ``flow`` a bot flow document
    (``bots.flow.flow_to_json``); ``None`` where the scope has none of its own."""

    scope: Scope
    updated_at: datetime
    hours: Mapping[str, Any] | None = None
    flow: Mapping[str, Any] | None = None


class SessionState(StrEnum):
    #: The bot talks: it greeted, answers FAQ questions, offers its menu.
    TALKING = "talking"
    #: It asks for the data the flow collects before a hand-off (``step`` says which).
    COLLECTING = "collecting"
    #: People have it: the bot stays silent until the conversation is the bot's again.
    HANDED_OFF = "handed_off"


@dataclass(frozen=True, slots=True)
class BotSession:
    """The bot's state in one conversation. ``handled_seq`` is the sequence number of the
    last customer message the bot has dealt with: a message at or below it is never
    answered again (a redelivered event, a second server process, a restart).
    ``menu`` lists the payloads of the last menu in order, so "2" means the second item.
    ``csat_*`` record the rating request sent on resolve and the customer's answer."""

    conversation_id: ConversationId
    scope: Scope
    state: SessionState
    updated_at: datetime
    step: int = 0
    collected: Mapping[str, str] = field(default_factory=dict)
    menu: tuple[str, ...] = ()
    handled_seq: int = 0
    csat_requested_at: datetime | None = None
    csat_rating: int | None = None
    csat_comment: str = ""
    csat_at: datetime | None = None
