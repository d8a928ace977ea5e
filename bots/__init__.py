"""Bots: business hours, the off-hours answer, FAQ, hand-off and CSAT (a feature: the
third floor of ARCHITECTURE.md; docs/bots.md).

``records.py`` (scopes' settings, the bot's session per conversation), ``ports.py`` (a
``BotsTx`` that extends the core's ``Tx`` with ``.bots``), ``events.py``, the pure parts
(``hours.py`` schedules, ``flow.py`` the flow file, ``faq.py`` stem matching,
``collect.py`` validators, ``dialogue.py`` one turn of the dialogue) and ``service.py``
(the intake policy, the worker that answers through ``write_automatic_reply``, the sweep).
It takes new conversations through the core's intake policy port and never imports
another feature: the root tells it which queue a channel's conversations go to.
"""

from bots.records import DEFAULT_SCOPE, BotSession, Scope, ScopeRecord, SessionState
from bots.service import BotIntake, BotService
from bots.settings import BotSettings, ScopeSettings, settings_view

__all__ = [
    "DEFAULT_SCOPE",
    "BotIntake",
    "BotService",
    "BotSession",
    "BotSettings",
    "Scope",
    "ScopeRecord",
    "ScopeSettings",
    "SessionState",
    "settings_view",
]
