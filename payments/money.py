"""Money without floats: decimal strings in JSON, integer minor units inside, Babel for
showing amounts the way each locale writes them ("3 450,00 ₽", "$3,450.00")."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from babel.numbers import format_currency, format_decimal, get_currency_symbol

from inbox.domain.errors import InvalidInput

__all__ = [
    "CURRENCIES",
    "MAX_AMOUNT_MINOR",
    "check_currency",
    "display",
    "minor_to_decimal",
    "parse_amount",
    "to_string",
]

#: The currencies an order may be in, with their minor-unit exponent (ISO 4217).
CURRENCIES: dict[str, int] = {"RUB": 2, "USD": 2, "EUR": 2}
#: A line or an order above this (10 billion units) is a typo, not a sale.
MAX_AMOUNT_MINOR = 10**12
_AMOUNT = re.compile(r"\d{1,13}(?:\.\d{1,2})?")
_LOCALES = {"ru": "ru_RU", "en": "en_US"}


def check_currency(code: object) -> str:
    """The ISO code upper-cased; :class:`InvalidInput` for one we do not take."""
    if not isinstance(code, str) or code.strip().upper() not in CURRENCIES:
        allowed = ", ".join(CURRENCIES)
        raise InvalidInput(f"currency must be one of {allowed}")
    return code.strip().upper()


def parse_amount(value: object, currency: str, *, field: str = "amount") -> int:
    """A decimal string ("1725.00", "1725", "0.5") → minor units. Floats are refused (a
    JSON number is a float to most clients), as are negatives and fractions of a kopeck."""
    if isinstance(value, bool) or not isinstance(value, str):
        raise InvalidInput(f'{field} must be a decimal string such as "1725.00", not a number')
    text = value.strip()
    if not _AMOUNT.fullmatch(text):
        raise InvalidInput(f"{field} must be a non-negative decimal with at most 2 decimals")
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only decimals
        raise InvalidInput(f"{field} is not a decimal") from exc
    minor = int(amount.scaleb(CURRENCIES[currency]))
    if minor > MAX_AMOUNT_MINOR:
        raise InvalidInput(f"{field} is too large")
    return minor


def minor_to_decimal(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-CURRENCIES[currency])


def to_string(minor: int, currency: str) -> str:
    """The JSON form: "3450.00"."""
    exponent = CURRENCIES[currency]
    return f"{minor_to_decimal(minor, currency):.{exponent}f}"


def display(minor: int, currency: str, language: str) -> str:
    """What a customer reads: "3 450,00 ₽" in Russian, "$3,450.00" and "RUB 3,450.00" in
    English (a locale without a symbol for the currency writes its code, spaced)."""
    locale = _LOCALES.get(language[:2], "en_US")
    amount = minor_to_decimal(minor, currency)
    if get_currency_symbol(currency, locale=locale) == currency:
        return f"{currency}\xa0{format_decimal(amount, format='#,##0.00', locale=locale)}"
    return str(format_currency(amount, currency, locale=locale))
