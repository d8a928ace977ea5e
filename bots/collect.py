"""Validators for what the bot asks before a hand-off: a phone, an email, an order number.

Each takes the customer's whole reply and gives the normalised value or ``None`` (the bot
then says the step's ``retry`` and asks again). A reply may carry words around the value
("мой номер 8 916 123-45-67", "my email is a@b.com", "заказ №12345"): those are found.
Nothing here touches the network (email deliverability is not checked).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from bots.flow import CollectField

__all__ = ["MAX_REPLY_CHARS", "Collected", "validate"]

#: Longer replies are not an answer to "your phone, please?" and would only cost time.
MAX_REPLY_CHARS = 500

_ORDER_NUMBER = re.compile(r"[^\W_]|[-#]")
_ORDER_PREFIX = re.compile(r"^[#№]\s*")
_DIGIT = re.compile(r"\d")
# What may stick to a value in a sentence: "(a@b.com)," "№123."
_PUNCTUATION = ".,;:!?()[]<>«»\"'"


@dataclass(frozen=True, slots=True)
class Collected:
    """A valid value: a phone in E.164 (``+79161234567``), an email with its domain
    lower-cased (the local part as typed), an order number upper-cased without its
    leading ``#`` or ``№``."""

    field: CollectField
    value: str


def validate(field: CollectField, text: str, *, region: str = "RU") -> Collected | None:
    """The value of ``field`` in the customer's reply ``text``, or ``None`` if it has none.

    ``region`` (ISO 3166 alpha-2) is where a phone number without ``+`` is dialled:
    ``8 (916) 123-45-67`` in RU; ``+44 20 7946 0958`` is valid anywhere."""
    text = text.strip()
    if not text or len(text) > MAX_REPLY_CHARS:
        return None
    if field == "phone":
        value = _phone(text, region.upper())
    elif field == "email":
        value = _email(text)
    else:
        value = _order_number(text)
    return Collected(field=field, value=value) if value is not None else None


def _phone(text: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        # Maybe the number sits inside a sentence; take the first valid one.
        found = next(iter(phonenumbers.PhoneNumberMatcher(text, region)), None)
        if found is None:
            return None
        number = found.number
        if not phonenumbers.is_valid_number(number):
            return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _email(text: str) -> str | None:
    candidates = [text] + [token.strip(_PUNCTUATION) for token in text.split() if "@" in token]
    for candidate in candidates:
        try:
            return validate_email(candidate, check_deliverability=False).normalized
        except EmailNotValidError:
            continue
    return None


def _order_number(text: str) -> str | None:
    whole = _one_order_number(text)
    if whole is not None:
        return whole
    # "заказ № 12345": the one word of the reply with digits, if it is an order number.
    # Two such words ("12 345", "№123 от 12.05") are ambiguous: the bot asks again.
    tokens = [t for t in re.sub(r"([#№])\s+", r"\1", text).split() if _DIGIT.search(t)]
    return _one_order_number(tokens[0]) if len(tokens) == 1 else None


def _one_order_number(text: str) -> str | None:
    value = _ORDER_PREFIX.sub("", text.strip().strip(_PUNCTUATION))
    if not 3 <= len(value) <= 32:
        return None
    if not all(_ORDER_NUMBER.fullmatch(char) for char in value):
        return None
    if not _DIGIT.search(value):
        return None
    return value.upper()
