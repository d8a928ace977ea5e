"""What a channel kind declares about itself, and the catalog the root collects them in.

The core never names a channel kind. Each ``channels/<kind>/spec.py`` declares a
:class:`ChannelSpec` (its options, which of them are secret, its capabilities: a reply
window, approved templates, e-mail threading); the composition root gathers the installed
ones into a :class:`ChannelCatalog` and hands it to the core in ``Core.channels``. Adding a
channel therefore edits no core file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from inbox.domain.channels import Channel, ChannelKind

__all__ = ["ChannelCatalog", "ChannelSpec", "ReplyWindow", "TemplateList"]

#: The approved templates a channel may send outside its reply window: (name, language).
TemplateList = Callable[[Channel], list[tuple[str, str]]]

_HIDDEN = "***"


@dataclass(frozen=True, slots=True)
class ReplyWindow:
    """Free-form replies are accepted for ``length`` after the customer's last message
    (WhatsApp's 24-hour customer service window); after that the channel refuses them and
    the operator is told ``closed_message``."""

    length: timedelta
    closed_message: str

    def ends_at(self, last_inbound_at: datetime) -> datetime:
        return last_inbound_at + self.length


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    """One channel kind's declaration.

    ``options`` are the option names an administrator may give when adding a channel; any
    other is refused, so a typo does not leave a channel silently misconfigured.
    ``secrets`` are the stored options (given, generated or set by the adapter's setup,
    such as a webhook secret) that are never printed, logged or sent to a browser.
    ``generate`` makes the options the server creates itself when a channel is added (the
    web chat's visitor-token secret). ``threading`` is how many earlier message ids an outbound
    message carries for the customer's client to thread it (e-mail's ``References``); 0
    for chats. ``needs_adapter`` is false for a kind the server serves itself (the web
    chat), which has no provider adapter. ``no_replies`` is set for a kind that delivers
    nothing (the API's forms and calls): every reply on it -- an operator's, a bot's, a
    payment link -- is refused with that message, and its new conversations go straight to
    routing (no bot can talk there).
    """

    kind: ChannelKind
    options: frozenset[str]
    secrets: frozenset[str] = frozenset()
    generate: Callable[[], Mapping[str, str]] | None = None
    reply_window: ReplyWindow | None = None
    templates: TemplateList | None = None
    threading: int = 0
    needs_adapter: bool = True
    no_replies: str = ""

    def __post_init__(self) -> None:
        if self.threading < 0:
            raise ValueError(f"{self.kind}: threading must be >= 0")


@dataclass(frozen=True, slots=True)
class ChannelCatalog:
    """The installed channel kinds. Empty by default (a core without channels)."""

    specs: Mapping[ChannelKind, ChannelSpec] = field(default_factory=dict)

    @classmethod
    def of(cls, specs: Iterable[ChannelSpec]) -> ChannelCatalog:
        found: dict[ChannelKind, ChannelSpec] = {}
        for spec in specs:
            if spec.kind in found:
                raise ValueError(f"channel kind {spec.kind!r} is declared twice")
            found[spec.kind] = spec
        return cls(found)

    def __iter__(self) -> Iterator[ChannelSpec]:
        return iter(self.specs.values())

    def __contains__(self, kind: object) -> bool:
        return kind in self.specs

    def kinds(self) -> list[ChannelKind]:
        return sorted(self.specs)

    def get(self, kind: str) -> ChannelSpec | None:
        return self.specs.get(ChannelKind(kind))

    def public_view(self, channel: Channel) -> dict[str, object]:
        """What the console and the CLI may show of a channel: secrets masked. A channel
        whose kind is not installed shows no option values at all (its secrets are
        unknown, so every value is treated as one)."""
        spec = self.get(channel.kind)
        return {
            "id": channel.id,
            "kind": str(channel.kind),
            "name": channel.name,
            "enabled": channel.enabled,
            "options": {
                k: (_HIDDEN if spec is None or k in spec.secrets else v)
                for k, v in channel.options.items()
            },
            "created_at": channel.created_at.isoformat(),
        }
