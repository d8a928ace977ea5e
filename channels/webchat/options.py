"""A web chat channel's options (CONTRACT.md "Channel options"; docs/webchat-protocol.md).

``origin`` (optional): the sites that may open the chat, a comma list of origins such as
``https://shop.example``; without it any site may. ``title`` and ``greeting`` (optional)
are the widget's header and the line above an empty history. ``visitor_secret`` is
generated when the channel is added, signs the visitor tokens and never leaves the server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from inbox.domain.errors import InvalidInput

__all__ = ["OPTIONS", "SECRETS", "WebchatOptions"]

#: Every option a web chat channel has (``visitor_secret`` is set by the server).
OPTIONS = ("origin", "title", "greeting", "visitor_secret")
#: The options that are secret: never shown, logged or sent to a browser.
SECRETS = ("visitor_secret",)


@dataclass(frozen=True, slots=True)
class WebchatOptions:
    visitor_secret: str
    #: The allowed origins, without a trailing ``/``; empty: every site is allowed.
    origins: tuple[str, ...] = ()
    title: str = ""
    greeting: str = ""

    def __repr__(self) -> str:
        # Never show the secret in a traceback or a log line.
        return f"WebchatOptions(origins={self.origins!r}, title={self.title!r})"

    @classmethod
    def parse(cls, options: Mapping[str, str]) -> WebchatOptions:
        """Raises :class:`InvalidInput` when the channel has no ``visitor_secret``."""
        secret = str(options.get("visitor_secret") or "")
        if not secret:
            raise InvalidInput("a web chat channel needs its visitor_secret (set when added)")
        allowed = [o.strip().rstrip("/") for o in options.get("origin", "").split(",")]
        return cls(
            visitor_secret=secret,
            origins=tuple(o for o in allowed if o),
            title=str(options.get("title") or ""),
            greeting=str(options.get("greeting") or ""),
        )

    def allows_origin(self, origin: str | None) -> bool:
        """Whether a page with this ``Origin`` header may open the chat."""
        if not self.origins:
            return True
        return origin is not None and origin.rstrip("/") in self.origins
