"""The option names a VK channel accepts and hides: options.py is what its spec declares."""

from __future__ import annotations

from channels.vk.options import OPTIONS, REQUIRED_OPTIONS, SECRETS
from channels.vk.spec import SPEC


def test_options_are_the_ones_the_spec_declares() -> None:
    assert set(OPTIONS) == SPEC.options
    assert set(REQUIRED_OPTIONS) <= set(OPTIONS)


def test_secrets_are_options_the_spec_masks() -> None:
    assert {"token", "secret"} <= set(SECRETS) <= set(OPTIONS)
    assert set(SECRETS) == SPEC.secrets
