"""The bot's menu: a reply button per titled FAQ entry and "talk to an operator", and what
a customer's reply picks from it (a pressed button, the number of an item where the
channel shows a numbered list instead, or a title typed out)."""

from __future__ import annotations

import re
from typing import Literal

from bots.flow import BotFlow, FaqEntry, fold
from inbox.domain.content import Button

__all__ = ["MENU_OPERATOR_PAYLOAD", "faq_payload", "menu_buttons", "menu_choice"]

MENU_OPERATOR_PAYLOAD = "bot:operator"
_FAQ_PAYLOAD_PREFIX = "bot:faq:"
_MENU_NUMBER = re.compile(r"\s*(\d{1,3})\s*[.)]?\s*")


def faq_payload(index: int) -> str:
    """The reply payload of the menu button of ``flow.faq[index]``."""
    return f"{_FAQ_PAYLOAD_PREFIX}{index}"


def menu_buttons(flow: BotFlow) -> tuple[Button, ...]:
    """The menu offered after the greeting: a reply button per titled FAQ entry, then
    "talk to an operator" (:data:`MENU_OPERATOR_PAYLOAD`). Empty when ``flow.menu`` is off.
    Channels without buttons number them 1..n; :func:`menu_choice` reads those numbers."""
    if not flow.menu:
        return ()
    buttons = [
        Button(title=entry.title, payload=faq_payload(index))
        for index, entry in enumerate(flow.faq)
        if entry.title
    ]
    buttons.append(Button(title=flow.texts["menu_operator"], payload=MENU_OPERATOR_PAYLOAD))
    return tuple(buttons)


def menu_choice(flow: BotFlow, reply: str) -> FaqEntry | Literal["operator"] | None:
    """What the customer picked from :func:`menu_buttons`: by payload, by the button's
    number ("2", "2.", "2)") or by its title (case, spacing and the Russian yo/ye
    ignored). ``None`` when the reply names no button (then it is a question for the FAQ
    matcher)."""
    buttons = menu_buttons(flow)
    if not buttons:
        return None
    chosen: Button | None = None
    number = _MENU_NUMBER.fullmatch(reply)
    if number is not None:
        position = int(number.group(1))
        if 1 <= position <= len(buttons):
            chosen = buttons[position - 1]
    else:
        wanted = fold(reply)
        for button in buttons:
            if reply == button.payload or fold(button.title) == wanted:
                chosen = button
                break
    if chosen is None:
        return None
    if chosen.payload == MENU_OPERATOR_PAYLOAD:
        return "operator"
    return flow.faq[int(chosen.payload.removeprefix(_FAQ_PAYLOAD_PREFIX))]
