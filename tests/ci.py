"""Whether the tests run in CI, where a missing service must fail the run instead of
skipping its tests: ``CI`` set to ``true``, ``1``, ``yes`` or ``on`` (CI services differ in
which they set; ``.ci/run`` keeps an inherited value)."""

from __future__ import annotations

import os

__all__ = ["in_ci"]


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes", "on"}
