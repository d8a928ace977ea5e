"""Channels: one subpackage per kind. A channel moves bytes and converts; the core decides
and persists (ARCHITECTURE.md)."""
