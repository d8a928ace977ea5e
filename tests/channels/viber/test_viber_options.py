"""The Viber channel's options: the names the core accepts, the secrets, parsing."""

from __future__ import annotations

import pytest

from channels.viber.client import DEFAULT_API_BASE
from channels.viber.options import OPTIONS, SECRETS, ViberOptions
from channels.viber.spec import SPEC
from inbox.domain.errors import InvalidInput
from tests.channels.viber.helpers import TOKEN


def test_options_are_the_ones_the_spec_declares() -> None:
    assert set(OPTIONS) == SPEC.options
    assert set(SECRETS) == SPEC.secrets
    assert SECRETS == ("token",)
    assert set(SECRETS) <= set(OPTIONS)


def test_read_strips_and_defaults() -> None:
    options = ViberOptions.read({"token": f" {TOKEN} ", "sender_name": " Shop "})
    assert options == ViberOptions(token=TOKEN, api_base=DEFAULT_API_BASE, sender_name="Shop")
    assert ViberOptions.read({}).token == ""


def test_repr_never_shows_the_token() -> None:
    assert TOKEN not in repr(ViberOptions.read({"token": TOKEN}))


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"token": "  "},
        {"token": TOKEN, "api_base": "ftp://x"},
        {"token": TOKEN, "api_base": "x"},
    ],
)
def test_parse_refuses(options: dict[str, str]) -> None:
    with pytest.raises(InvalidInput):
        ViberOptions.parse(options)


def test_parse_accepts_an_http_api_base() -> None:
    parsed = ViberOptions.parse({"token": TOKEN, "api_base": " http://127.0.0.1:8080/pa "})
    assert parsed.api_base == "http://127.0.0.1:8080/pa"
