"""Adding and describing channels, once, for the CLI (``inbox channel add|list``) and the
console's settings (``POST /api/v1/channels``): the kind's adapter checks the options
with the provider and registers the webhook; a channel's view carries the URL the
provider or the customer's page connects to."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from channels.api.spec import KIND as API
from channels.webchat.spec import KIND as WEBCHAT
from inbox.domain.channel_errors import ChannelError
from inbox.domain.channels import Channel, ChannelKind
from inbox.domain.errors import DomainError, InvalidInput
from inbox.ports import ChannelAdapter
from inbox.usecases import Core, add_channel
from server.channels import CATALOG
from server.config import Settings

__all__ = ["ChannelAdmin"]


class ChannelAdmin:
    def __init__(
        self, core: Core, adapters: Mapping[str, ChannelAdapter], settings: Settings
    ) -> None:
        self._core = core
        self._adapters = adapters
        self._settings = settings

    @property
    def base_url(self) -> str:
        s = self._settings
        return (s.public_url or f"http://{s.host}:{s.port}").rstrip("/")

    def view(self, channel: Channel) -> dict[str, Any]:
        """The public view (secrets masked) plus, for the web chat, its WebSocket URL and
        embed snippet, for the API channel the URL requests are posted to, else its
        webhook URL."""
        view = CATALOG.public_view(channel)
        base = self.base_url
        if channel.kind == WEBCHAT:
            ws_base = base.replace("https://", "wss://").replace("http://", "ws://")
            view["websocket_url"] = f"{ws_base}/ws/webchat/{channel.id}"
            view["embed"] = (
                f'<script src="{base}/widget.js" data-channel="{channel.id}" async></script>'
            )
        elif channel.kind == API:
            # Requests are posted, not pushed by a provider (docs/api.md, "Inbound API").
            view["requests_url"] = f"{base}/api/v1/requests"
        else:
            view["webhook_url"] = f"{base}/webhooks/{channel.kind}/{channel.id}"
        return view

    async def add(self, kind: str, name: str, options: Mapping[str, str]) -> Channel:
        """Raises :class:`InvalidInput` (unknown kind or options) or :class:`DomainError`
        (the provider refused the set-up); nothing is left behind then."""
        spec = self._core.channels.get(kind)
        if spec is None:
            installed = ", ".join(self._core.channels.kinds())
            raise InvalidInput(f"unknown channel kind {kind!r} (installed: {installed})")
        if not spec.needs_adapter:
            return await add_channel(self._core, ChannelKind(kind), name, options)
        adapter = self._adapters.get(kind)
        if adapter is None:
            raise InvalidInput(f"channel kind {kind} is not available on this server")
        public_url = self._settings.public_url or None

        async def setup(channel: Channel) -> Mapping[str, str]:
            try:
                return await adapter.setup(channel, public_url)
            except ChannelError as exc:
                raise DomainError(f"the provider refused the set-up: {exc.reason}") from exc

        return await add_channel(self._core, ChannelKind(kind), name, options, setup)
