"""Graph API error envelopes → RetryLater / PermanentFailure with readable reasons."""

from __future__ import annotations

import json
from typing import Any

import pytest

from channels.whatsapp.errors import REENGAGEMENT_REASON, error_from_response
from inbox.domain.channel_errors import PermanentFailure, RetryLater
from tests.channels.whatsapp.support import SHARED, shared


def from_fixture(name: str, retry_after: str | None = None) -> Any:
    """The recorded body, answered with the HTTP status its ``_http_status`` note gives."""
    status = json.loads((SHARED / name).read_text(encoding="utf-8"))["_http_status"]
    return error_from_response(status, shared(name), retry_after)


def test_throughput_limit_is_retried_after_a_default_pause() -> None:
    error = from_fixture("whatsapp_error_response_130429_throughput.json")
    assert isinstance(error, RetryLater)
    assert error.retry_after == 5.0


def test_retry_after_header_wins() -> None:
    error = from_fixture("whatsapp_error_response_130429_throughput.json", retry_after="12")
    assert isinstance(error, RetryLater)
    assert error.retry_after == 12.0


def test_expired_token_is_permanent_with_a_plain_reason() -> None:
    error = from_fixture("whatsapp_error_response_190_expired_token.json")
    assert isinstance(error, PermanentFailure)
    assert error.reason == "The WhatsApp access token has expired or is invalid."


def test_recipient_not_allowed_explains_test_numbers() -> None:
    error = from_fixture("whatsapp_error_response_131030.json")
    assert isinstance(error, PermanentFailure)
    assert "allowed list" in error.reason


def envelope(code: int, details: str = "", message: str = "msg") -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return {"error": error}


@pytest.mark.parametrize(
    ("status", "code", "retry_after"),
    [(400, 131056, 6.0), (400, 80007, 5.0), (400, 4, 5.0), (429, 0, 5.0), (503, 2, None)],
)
def test_transient_errors_are_retried(status: int, code: int, retry_after: float | None) -> None:
    error = error_from_response(status, envelope(code))
    assert isinstance(error, RetryLater)
    assert error.retry_after == retry_after


def test_5xx_without_json_is_retried() -> None:
    assert isinstance(error_from_response(502, None), RetryLater)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (131047, REENGAGEMENT_REASON),
        (190, "The WhatsApp access token has expired or is invalid."),
    ],
)
def test_known_permanent_codes(code: int, expected: str) -> None:
    error = error_from_response(400, envelope(code))
    assert isinstance(error, PermanentFailure)
    assert error.reason == expected


@pytest.mark.parametrize("code", [131026, 100, 131009, 10, 132001, 999999])
def test_permanent_reasons_are_sentences(code: int) -> None:
    error = error_from_response(400, envelope(code, details="Parameter value is not valid"))
    assert isinstance(error, PermanentFailure)
    assert error.reason[0].isupper()
    assert "token" not in error.reason.lower() or code == 10
