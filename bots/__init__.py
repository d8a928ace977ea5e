"""Bots: business hours, the off-hours answer, FAQ, hand-off and CSAT.

Nothing here yet: the foundation ships without a bot, and conversations start queued.
The ``bot`` conversation status and the event bus are the hooks a bot will use.
"""
