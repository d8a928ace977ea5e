"""Routing: who gets which conversation. Selection is pure; decisions are persisted by the
core's ``assign_conversation`` under row locks (ARCHITECTURE.md)."""

from routing.basic import BasicRouter, Candidate, pick_operator

__all__ = ["BasicRouter", "Candidate", "pick_operator"]
