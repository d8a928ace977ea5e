"""Payments: orders, payment links and providers (YooKassa, Stripe, sandbox).

Nothing here yet: a later issue builds it on the core's ports and events.
"""
