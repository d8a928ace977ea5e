"""A Viber channel's options (CONTRACT.md "Channel options"; docs/channels/viber.md).

``token`` (required: the bot's auth token, also the key of the callback signature),
``api_base`` (default ``https://chatapi.viber.com/pa``), and ``sender_name`` (the name
shown on our messages; default the operator's name, else the channel's name). Set-up
stores nothing extra: Viber signs its callbacks with the token.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from channels.viber.client import DEFAULT_API_BASE
from inbox.domain.errors import InvalidInput

__all__ = ["OPTIONS", "SECRETS", "ViberOptions"]

#: Every option a Viber channel accepts.
OPTIONS = ("token", "api_base", "sender_name")
#: The options that are secret and never shown.
SECRETS = ("token",)


@dataclass(frozen=True, slots=True)
class ViberOptions:
    """A channel's options, stripped; ``api_base`` defaulted, ``sender_name`` may be ``""``."""

    token: str
    api_base: str = DEFAULT_API_BASE
    sender_name: str = ""

    def __repr__(self) -> str:
        # Never show the token in a traceback or a log line.
        return f"ViberOptions(api_base={self.api_base!r}, sender_name={self.sender_name!r})"

    @classmethod
    def read(cls, options: Mapping[str, str]) -> ViberOptions:
        """The options as stored, unchecked: ``token`` may be empty (each caller refuses
        that in its own way: a webhook call with 403, a send permanently)."""
        return cls(
            token=options.get("token", "").strip(),
            api_base=options.get("api_base", "").strip() or DEFAULT_API_BASE,
            sender_name=options.get("sender_name", "").strip(),
        )

    @classmethod
    def parse(cls, options: Mapping[str, str]) -> ViberOptions:
        """The options checked for set-up; raises :class:`InvalidInput`."""
        if not options.get("token", "").strip():
            raise InvalidInput("a Viber channel needs the option token (the bot's auth token)")
        api_base = options.get("api_base", "").strip()
        if api_base and (
            urlsplit(api_base).scheme not in ("http", "https") or "://" not in api_base
        ):
            raise InvalidInput("the option api_base must be an http(s) URL")
        return cls.read(options)
