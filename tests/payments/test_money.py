"""Money: decimal strings in, exact minor units inside, amounts written per locale."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inbox.domain.errors import InvalidInput
from payments.money import check_currency, display, parse_amount, to_string


@pytest.mark.parametrize(
    ("minor", "currency", "language", "shown"),
    [
        (345010, "RUB", "ru", "3\xa0450,10\xa0₽"),
        (345010, "RUB", "en", "RUB\xa03,450.10"),
        (345010, "USD", "en", "$3,450.10"),
        (345010, "EUR", "ru", "3\xa0450,10\xa0€"),
        (10, "RUB", "ru", "0,10\xa0₽"),
    ],
)
def test_amounts_are_written_per_locale(
    minor: int, currency: str, language: str, shown: str
) -> None:
    assert display(minor, currency, language) == shown


@pytest.mark.parametrize("bad", [1725.0, 1725, True, "-1.00", "1.005", "1e3", " ", "1,00"])
def test_only_decimal_strings_with_two_decimals(bad: object) -> None:
    with pytest.raises(InvalidInput):
        parse_amount(bad, "RUB")


def test_unknown_currency() -> None:
    with pytest.raises(InvalidInput, match="currency"):
        check_currency("GBP")
    assert check_currency(" usd ") == "USD"


@given(st.integers(min_value=0, max_value=10**12))
def test_minor_units_round_trip_exactly(minor: int) -> None:
    assert parse_amount(to_string(minor, "RUB"), "RUB") == minor
