"""Bots: business hours, the off-hours answer, FAQ, hand-off and CSAT (a feature: the
third floor of ARCHITECTURE.md).

The package follows routing's shape (docs/architecture.md, "How to add a feature"):
``records.py`` (its own records), ``ports.py`` (a ``BotsTx`` that extends the core's
``Tx`` with its repositories), ``events.py`` (its events and their frames, collected by the
root's registry), ``views.py`` and one module per use case. It takes new conversations
through the core's intake policy port and answers through ``send_automatic_reply``; it
may use routing's and payments' public modules, never their insides.
"""
