"""Payments: orders, payment links and providers (YooKassa, Stripe, a sandbox) — a
feature, on the third floor of ARCHITECTURE.md.

The package follows routing's shape (docs/architecture.md, "How to add a feature"):
``records.py``, ``ports.py`` (a ``PaymentsTx`` extending the core's ``Tx``), ``events.py``
(collected by the root's registry), ``views.py`` and one module per use case. A payment
link reaches the customer through the core's ``send_automatic_reply``; payments uses no
other feature.
"""
