"""The Viber channel: Viber's REST bot API over aiohttp (docs/channels/viber.md)."""

from channels.viber.adapter import ViberAdapter
from inbox.ports import AdapterDeps

__all__ = ["ViberAdapter", "create_adapter"]


def create_adapter(deps: AdapterDeps) -> ViberAdapter:
    """The factory the composition root registers as ``adapter_factories["viber"]``."""
    return ViberAdapter(deps)
