"""A VK channel's options, checked once (docs/channels/vk.md, CONTRACT.md "Channel options").

``token`` (community access token), ``group_id`` (the community's numeric id), ``secret``
(the Callback API "secret key"), ``confirmation`` (the string VK shows on the Callback API
page) are required; ``api_base`` points the client at a proxy or a local fake.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from inbox.domain.errors import InvalidInput

__all__ = [
    "API_VERSION",
    "DEFAULT_API_BASE",
    "OPTIONS",
    "REQUIRED_OPTIONS",
    "SECRETS",
    "VkOptions",
    "parse_options",
]

#: The Callback API and method version this adapter speaks (channel-contracts.md §2).
API_VERSION = "5.199"

#: vk_api 11.10.1 posts to this host, hard-coded (vk_api/vk_api.py ``VkApi.method``);
#: ≤11.10.0 used https://api.vk.com, which VK still serves. Using the library's own host as
#: the default means no rewriting at all unless ``api_base`` says otherwise.
DEFAULT_API_BASE = "https://api.vk.ru"

REQUIRED_OPTIONS = ("token", "group_id", "secret", "confirmation")
#: Every option a VK channel accepts (``setup`` stores none of its own).
OPTIONS = ("token", "group_id", "secret", "confirmation", "api_base")
#: The options that are secret and never shown. ``confirmation`` is among them: with the
#: group id it is what answers VK's address check, and the core masks it too.
SECRETS = ("token", "secret", "confirmation")


@dataclass(frozen=True, slots=True)
class VkOptions:
    token: str
    group_id: int
    secret: str
    confirmation: str
    api_base: str = DEFAULT_API_BASE

    def __repr__(self) -> str:
        # Never print the token, the secret or the confirmation string.
        return f"VkOptions(group_id={self.group_id}, api_base={self.api_base!r})"


def parse_options(options: Mapping[str, str]) -> VkOptions:
    """The checked options. Raises :class:`InvalidInput` naming every missing or malformed
    option (never echoing a secret value)."""
    missing = [name for name in REQUIRED_OPTIONS if not str(options.get(name, "")).strip()]
    if missing:
        raise InvalidInput(
            "a VK channel needs the option(s) "
            + ", ".join(missing)
            + " (see docs/channels/vk.md: token, group_id, secret, confirmation)"
        )
    raw_group = options["group_id"].strip()
    # Owners copy the id from addresses like vk.com/club123456 or as "-123456" (the
    # community's owner_id); accept those spellings, store nothing but digits.
    for prefix in ("club", "public", "-"):
        raw_group = raw_group.removeprefix(prefix)
    if not raw_group.isdigit() or int(raw_group) <= 0:
        raise InvalidInput(
            "group_id must be the community's numeric id (e.g. 123456 from vk.com/club123456)"
        )
    api_base = options.get("api_base", "").strip().rstrip("/") or DEFAULT_API_BASE
    parts = urlsplit(api_base)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise InvalidInput("api_base must be an http(s) URL such as https://api.vk.ru")
    return VkOptions(
        token=options["token"].strip(),
        group_id=int(raw_group),
        secret=options["secret"].strip(),
        confirmation=options["confirmation"].strip(),
        api_base=api_base,
    )
