"""The bot's side of the dialogue, as a pure function: one customer message in, the bot's
replies and its next state out.

:func:`respond` decides; :mod:`bots.service` runs it inside the transaction that stores
the replies (through the core's outbox), the session and, on a hand-off, the queued
conversation. Nothing here reads a clock, a database or a channel.

The rules (docs/bots.md):

* The first message of a conversation gets the greeting, or in off hours the off-hours
  text with the next opening; then the answer when the message already asks a known
  question, else the menu (when the flow has one).
* A question matching an FAQ entry (by stems, so "доставку" finds "доставка") gets its
  answer. A button press, or the number of a menu item (channels without buttons show a
  numbered list), picks that item.
* A hand-off word or the operator button asks for a human: the flow first collects what
  it needs (phone, e-mail, order number), validating each answer and asking again on bad
  input; then the conversation goes to its queue with a note of what was collected.
* "Оплатить заказ 1042" / "pay order 1042" gets that order's payment link, when the order
  is this customer's and awaits payment (never another customer's).
* Anything else gets the fallback text and the menu again.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bots.collect import Collected, validate
from bots.faq import FaqMatcher, mentions
from bots.flow import BotFlow, FaqEntry
from bots.menu import MENU_OPERATOR_PAYLOAD, menu_buttons, menu_choice
from bots.records import BotSession, SessionState
from inbox.domain.content import ButtonReply, Buttons, Part, Text

__all__ = ["Turn", "respond"]


#: "оплатить заказ 1042", "оплата 1042", "pay order #1042", "pay for 1042".
_PAY = re.compile(r"(?:оплат\w*|pay\w*)\b\D{0,30}?(\d{3,9})\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Turn:
    """What the bot does about one message: ``replies`` to send in order (each a
    message's parts), its ``session`` afterwards, and whether it hands the conversation
    to people now (``hand_off``, with ``collected`` for the operator's note).
    ``pay_order``: the customer asked for the payment link of that order number; the
    service answers with the link (or says it found none) after ``replies``."""

    replies: tuple[tuple[Part, ...], ...]
    session: BotSession
    hand_off: bool = False
    collected: tuple[Collected, ...] = ()
    pay_order: int | None = None


def respond(
    flow: BotFlow,
    session: BotSession,
    parts: Sequence[Part],
    *,
    first: bool,
    open_now: bool,
    next_open: str,
    now: datetime,
    matcher: FaqMatcher | None = None,
) -> Turn:
    """The bot's turn for the customer message ``parts``. ``first``: it opened (or
    reopened) the conversation. ``open_now``/``next_open``: the scope's business hours at
    ``now`` (``next_open`` already worded for the customer, ``bots.hours``)."""
    if session.state is SessionState.HANDED_OFF:
        return Turn((), session)
    matcher = matcher or FaqMatcher(flow.faq, flow.language)
    # What the customer typed: not a pressed button's title, not a file's caption (an
    # e-mail reply carries the original mail as a file).
    text = "\n".join(p.text for p in parts if isinstance(p, Text)).strip()
    session = dataclasses.replace(session, updated_at=now)
    if session.state is SessionState.COLLECTING:
        return _collect(flow, session, text, open_now=open_now, next_open=next_open)

    replies: list[tuple[Part, ...]] = []
    if first:
        opening = flow.text("greeting") if open_now else flow.text("off_hours", next_open=next_open)
        if opening:
            replies.append((Text(opening),))
    asked = _PAY.search(text) if text else None
    if asked is not None:
        return Turn(tuple(replies), session, pay_order=int(asked.group(1)))
    choice = _choice(flow, session, parts, text)
    if choice == "operator" or (
        choice is None and text and mentions(text, flow.handoff, flow.language)
    ):
        return _ask_or_hand_off(flow, session, replies, open_now=open_now, next_open=next_open)
    entry = choice if isinstance(choice, FaqEntry) else matcher.match(text) if text else None
    if entry is not None:
        replies.append((Text(entry.answer),))
        return Turn(tuple(replies), session)
    buttons = menu_buttons(flow)
    if not first:
        replies.append((Text(flow.text("fallback")),))
    if buttons:
        replies.append((Buttons(flow.text("menu_prompt"), buttons),))
        session = dataclasses.replace(session, menu=tuple(b.payload for b in buttons))
    return Turn(tuple(replies), session)


def _choice(
    flow: BotFlow, session: BotSession, parts: Sequence[Part], text: str
) -> FaqEntry | Literal["operator"] | None:
    """A pressed menu button (by its payload), or the number or title of an item of the
    menu the bot showed last (channels without buttons show a numbered list)."""
    for part in parts:
        if isinstance(part, ButtonReply) and part.payload:
            if part.payload == MENU_OPERATOR_PAYLOAD:
                return "operator"
            return menu_choice(flow, part.payload)
    if session.menu and text:
        return menu_choice(flow, text)
    return None


def _ask_or_hand_off(
    flow: BotFlow,
    session: BotSession,
    replies: list[tuple[Part, ...]],
    *,
    open_now: bool,
    next_open: str,
) -> Turn:
    step = _next_missing(flow, session, 0)
    if step is not None:
        session = dataclasses.replace(session, state=SessionState.COLLECTING, step=step, menu=())
        replies.append((Text(flow.collect[step].prompt),))
        return Turn(tuple(replies), session)
    return _hand_off(flow, session, replies, open_now=open_now, next_open=next_open)


def _collect(
    flow: BotFlow, session: BotSession, text: str, *, open_now: bool, next_open: str
) -> Turn:
    if session.step >= len(flow.collect):  # the flow changed under the dialogue
        return _hand_off(flow, session, [], open_now=open_now, next_open=next_open)
    step = flow.collect[session.step]
    got = validate(step.field, text)
    if got is None:
        return Turn(((Text(step.retry),),), session)
    collected = {**session.collected, got.field: got.value}
    session = dataclasses.replace(session, collected=collected)
    following = _next_missing(flow, session, session.step + 1)
    if following is not None:
        session = dataclasses.replace(session, step=following)
        return Turn(((Text(flow.collect[following].prompt),),), session)
    return _hand_off(flow, session, [], open_now=open_now, next_open=next_open)


def _next_missing(flow: BotFlow, session: BotSession, start: int) -> int | None:
    for i in range(start, len(flow.collect)):
        if flow.collect[i].field not in session.collected:
            return i
    return None


def _hand_off(
    flow: BotFlow,
    session: BotSession,
    replies: list[tuple[Part, ...]],
    *,
    open_now: bool,
    next_open: str,
) -> Turn:
    line = flow.text("handoff") if open_now else flow.text("handoff_off_hours", next_open=next_open)
    if line:
        replies.append((Text(line),))
    session = dataclasses.replace(session, state=SessionState.HANDED_OFF, step=0, menu=())
    collected = tuple(
        Collected(step.field, session.collected[step.field])
        for step in flow.collect
        if step.field in session.collected
    )
    return Turn(tuple(replies), session, hand_off=True, collected=collected)
