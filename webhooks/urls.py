"""What a webhook URL may be: absolute http(s) with a host, no credentials, short."""

from __future__ import annotations

from urllib.parse import urlsplit

from inbox.domain.errors import InvalidInput

__all__ = ["MAX_URL_LENGTH", "check_url"]

MAX_URL_LENGTH = 2000


def check_url(raw: object) -> str:
    """``raw`` as a webhook URL; raises :class:`InvalidInput` saying what is wrong. The
    error never repeats the URL: it may carry a token of the receiver's."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidInput("url must be an http:// or https:// URL")
    url = raw.strip()
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(f"url is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidInput("url is not a valid URL") from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidInput("url must use http or https")
    if not parts.hostname:
        raise InvalidInput("url must name a host")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("url must not carry a user name or password")
    if port == 0:
        raise InvalidInput("url has an invalid port")
    return url
