"""The root collects the installed channel kinds: each one's declaration and adapter factory.

Adding a channel is one entry here (beside its package ``channels/<kind>/``): the core
learns its options, secrets and capabilities from the spec (``Core.channels``), the wiring
builds its adapter from the factory, and the CLI offers the kind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from channels import email, telegram, viber, vk, whatsapp
from channels.api.spec import SPEC as API
from channels.email.spec import SPEC as EMAIL
from channels.telegram.spec import SPEC as TELEGRAM
from channels.viber.spec import SPEC as VIBER
from channels.vk.spec import SPEC as VK
from channels.webchat.spec import SPEC as WEBCHAT
from channels.whatsapp.spec import SPEC as WHATSAPP
from inbox.domain.channel_spec import ChannelCatalog, ChannelSpec
from inbox.ports import AdapterDeps, ChannelAdapter

__all__ = ["ADAPTER_FACTORIES", "CATALOG", "INSTALLED", "AdapterFactory", "InstalledChannel"]

AdapterFactory = Callable[[AdapterDeps], ChannelAdapter]


@dataclass(frozen=True, slots=True)
class InstalledChannel:
    """A kind this server runs: ``create_adapter`` is None for a kind the server serves
    itself (the web chat)."""

    spec: ChannelSpec
    create_adapter: AdapterFactory | None = None

    def __post_init__(self) -> None:
        if self.spec.needs_adapter != (self.create_adapter is not None):
            raise ValueError(f"{self.spec.kind}: an adapter factory iff the spec needs one")


INSTALLED: tuple[InstalledChannel, ...] = (
    InstalledChannel(WEBCHAT),
    InstalledChannel(TELEGRAM, telegram.create_adapter),
    InstalledChannel(VK, vk.create_adapter),
    InstalledChannel(WHATSAPP, whatsapp.create_adapter),
    InstalledChannel(VIBER, viber.create_adapter),
    InstalledChannel(EMAIL, email.create_adapter),
    InstalledChannel(API),
)

#: Every installed kind's declaration, handed to the core as ``Core.channels``.
CATALOG = ChannelCatalog.of(installed.spec for installed in INSTALLED)

#: The kinds that need a provider adapter, by kind.
ADAPTER_FACTORIES: Mapping[str, AdapterFactory] = {
    str(installed.spec.kind): installed.create_adapter
    for installed in INSTALLED
    if installed.create_adapter is not None
}
