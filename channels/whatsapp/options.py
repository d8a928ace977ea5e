"""A WhatsApp channel's options (CONTRACT.md "Channel options"; docs/channels/whatsapp.md).

Required: ``token`` (a system-user access token with ``whatsapp_business_messaging``),
``phone_number_id`` (the Cloud API number's id, not the phone number), ``app_secret`` (signs
webhooks), ``verify_token`` (answers Meta's verification GET). Optional: ``api_base``
(default ``https://graph.facebook.com/v21.0``: the Graph version is part of it) and
``templates`` (``name:language`` pairs, comma separated; the core checks a template
against them through the kind's spec, channels/whatsapp/spec.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from channels.whatsapp.client import DEFAULT_API_BASE
from inbox.domain.channels import Channel
from inbox.domain.errors import InvalidInput

__all__ = ["OPTIONS", "REQUIRED_OPTIONS", "SECRETS", "WhatsAppOptions", "configured_templates"]

REQUIRED_OPTIONS = ("token", "phone_number_id", "app_secret", "verify_token")
#: Every option a WhatsApp channel takes (setup stores none of its own).
OPTIONS = (*REQUIRED_OPTIONS, "api_base", "templates")
#: Never shown, logged or sent to a browser.
SECRETS = ("token", "app_secret", "verify_token")


@dataclass(frozen=True, slots=True)
class WhatsAppOptions:
    token: str
    phone_number_id: str
    app_secret: str
    verify_token: str
    api_base: str = DEFAULT_API_BASE

    def __repr__(self) -> str:
        # Never show secrets in a traceback or a log line.
        return (
            f"WhatsAppOptions(phone_number_id={self.phone_number_id!r}, api_base={self.api_base!r})"
        )

    @classmethod
    def parse(cls, options: Mapping[str, str]) -> WhatsAppOptions:
        """Raises :class:`InvalidInput` naming every missing or malformed option."""
        values = {name: str(options.get(name) or "").strip() for name in REQUIRED_OPTIONS}
        missing = [name for name, value in values.items() if not value]
        if missing:
            raise InvalidInput(
                "a WhatsApp channel needs the option(s): "
                + ", ".join(missing)
                + " (see docs/channels/whatsapp.md)"
            )
        if not values["phone_number_id"].isdigit():
            raise InvalidInput(
                "phone_number_id is the numeric id shown under WhatsApp > API Setup "
                "(not the phone number itself)"
            )
        api_base = str(options.get("api_base") or "").strip().rstrip("/") or DEFAULT_API_BASE
        parts = urlsplit(api_base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidInput("api_base must be an http(s) URL, e.g. " + DEFAULT_API_BASE)
        for item in str(options.get("templates") or "").split(","):
            name, _, language = item.strip().partition(":")
            if item.strip() and not (name.strip() and language.strip()):
                raise InvalidInput(
                    "templates is a comma separated list of name:language, "
                    "e.g. order_update:ru,hello_world:en_US"
                )
        return cls(api_base=api_base, **values)


def configured_templates(channel: Channel) -> list[tuple[str, str]]:
    """The channel's ``templates`` option: its approved (name, language) pairs."""
    found: list[tuple[str, str]] = []
    for item in channel.options.get("templates", "").split(","):
        name, _, language = item.strip().partition(":")
        if name.strip() and language.strip():
            found.append((name.strip(), language.strip()))
    return found
