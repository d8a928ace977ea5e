"""Priority rules as data: what raises a conversation's priority in its queue.

Within a queue, higher priority is served first, then the longest waiting
(:func:`routing.policy.selection.service_order`). The rules are configuration; the facts
are gathered by the caller (the contact's history, their orders, their tags).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "CustomerFacts",
    "HasTag",
    "PriorityRule",
    "ReturningCustomer",
    "UnpaidOrder",
    "priority_of",
]


@dataclass(frozen=True, slots=True)
class CustomerFacts:
    """What the rules look at. ``returning``: the contact has an earlier conversation;
    ``unpaid_order``: the contact has an order awaiting payment; ``tags``: the contact's
    tags (``vip``, ``wholesale``, ...)."""

    returning: bool = False
    unpaid_order: bool = False
    tags: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ReturningCustomer:
    bonus: int


@dataclass(frozen=True, slots=True)
class UnpaidOrder:
    bonus: int


@dataclass(frozen=True, slots=True)
class HasTag:
    tag: str
    bonus: int


PriorityRule = ReturningCustomer | UnpaidOrder | HasTag


def _bonus(rule: PriorityRule, facts: CustomerFacts) -> int:
    match rule:
        case ReturningCustomer(bonus=bonus):
            return bonus if facts.returning else 0
        case UnpaidOrder(bonus=bonus):
            return bonus if facts.unpaid_order else 0
        case HasTag(tag=tag, bonus=bonus):
            return bonus if tag in facts.tags else 0


def priority_of(rules: Iterable[PriorityRule], facts: CustomerFacts, base: int = 0) -> int:
    """``base`` plus the bonus of every rule that matches ``facts``. Rules add up (a
    returning VIP with an unpaid order gets all three); a negative bonus lowers priority."""
    return base + sum(_bonus(rule, facts) for rule in rules)
