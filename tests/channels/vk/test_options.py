"""The option names a VK channel accepts and hides."""

from __future__ import annotations

from channels.vk.options import OPTIONS, REQUIRED_OPTIONS, SECRETS
from inbox.domain.channels import Channel, ChannelKind
from inbox.usecases.channels import KNOWN_OPTIONS


def test_options_are_the_ones_the_core_accepts() -> None:
    assert set(OPTIONS) == KNOWN_OPTIONS[ChannelKind.VK]
    assert set(REQUIRED_OPTIONS) <= set(OPTIONS)


def test_secrets_are_options_the_core_masks() -> None:
    assert {"token", "secret"} <= set(SECRETS) <= set(OPTIONS)
    assert set(SECRETS) <= Channel.SECRET_OPTIONS
