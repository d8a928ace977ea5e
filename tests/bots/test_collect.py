"""What the bot collects before a hand-off: phone, email, order number."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bots.collect import MAX_REPLY_CHARS, Collected, validate
from bots.flow import CollectField


@pytest.mark.parametrize(
    ("text", "region", "value"),
    [
        ("8 (916) 123-45-67", "RU", "+79161234567"),
        ("+7 916 123 45 67", "RU", "+79161234567"),
        ("89161234567", "RU", "+79161234567"),
        ("  +7(916)1234567 ", "ru", "+79161234567"),
        ("+44 20 7946 0958", "RU", "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("мой номер 8 916 123-45-67, звоните после 10", "RU", "+79161234567"),
    ],
)
def test_good_phones_become_e164(text: str, region: str, value: str) -> None:
    assert validate("phone", text, region=region) == Collected(field="phone", value=value)


@pytest.mark.parametrize(
    "text", ["", "12345", "8 (916) 123-45", "позвоните мне", "+7 000 000 00 00", "a" * 600]
)
def test_bad_phones(text: str) -> None:
    assert validate("phone", text) is None


def test_a_number_without_plus_needs_its_region() -> None:
    assert validate("phone", "020 7946 0958", region="RU") is None
    assert validate("phone", "8 916 123-45-67", region="XX") is None


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("ivan@example.com", "ivan@example.com"),
        ("Ivan.Petrov@MAIL.RU", "Ivan.Petrov@mail.ru"),
        ("  a+tag@Example.COM  ", "a+tag@example.com"),
        ("пишите на ivan@mail.ru, спасибо", "ivan@mail.ru"),
        ("(ivan@mail.ru)", "ivan@mail.ru"),
        ("иван@почта.рф", "иван@почта.рф"),
    ],
)
def test_good_emails(text: str, value: str) -> None:
    assert validate("email", text) == Collected(field="email", value=value)


@pytest.mark.parametrize(
    "text", ["", "ivan", "ivan@", "@mail.ru", "ivan@localhost", "ivan@@mail.ru", "a@b@mail.ru"]
)
def test_bad_emails(text: str) -> None:
    assert validate("email", text) is None


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12345", "12345"),
        ("#12345", "12345"),
        ("№ 12345", "12345"),
        ("ab-123", "AB-123"),
        (" A#12 ", "A#12"),
        ("заказ №98765.", "98765"),
        ("мой заказ 123 от вчера", "123"),
        ("x" * 31 + "1", "X" * 31 + "1"),
    ],
)
def test_good_order_numbers(text: str, value: str) -> None:
    assert validate("order_number", text) == Collected(field="order_number", value=value)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "12",  # too short
        "#12",
        "x" * 32 + "1",  # too long
        "abcdef",  # no digit
        "12 345",  # two candidates: ambiguous
        "12_345",
        "12$45",
        "заказ номер",
        "заказ №123 от 12.05",  # two numbers: ambiguous
    ],
)
def test_bad_order_numbers(text: str) -> None:
    assert validate("order_number", text) is None


def test_a_too_long_reply_is_refused() -> None:
    assert validate("order_number", "1" * 3 + " " * MAX_REPLY_CHARS) is not None  # stripped
    assert validate("order_number", "заказ 123 " + "x" * MAX_REPLY_CHARS) is None


@given(st.sampled_from(["phone", "email", "order_number"]), st.text(max_size=200))
def test_validate_never_raises(field: CollectField, text: str) -> None:
    result = validate(field, text)
    if result is not None:
        assert result.field == field
        assert result.value == result.value.strip()
