"""The open event registry: one declaration per event type gives its wire name, its codec
(for carrying it between processes over Redis, docs/scaling.md) and the frames it becomes
for operators' consoles.

A package declares its events where they belong (the core in :mod:`inbox.core_events`,
routing in ``routing.events``, ...) as :class:`EventSpec` values; the composition root
collects them into one :class:`EventRegistry`, which the Redis bus and the operator hub
receive. Adding an event is one declaration: no edit to a codec, a union or the hub.

The wire document is ``{"v": CODEC_VERSION, "type": <name>, <fields>}``; fields travel by
their type hints (:mod:`inbox.domain.typed_codec`). A reader refuses a version it does not
know and an event type it does not know with :class:`EventDecodeError`, so during a
rolling deploy an older process skips what a newer one sends instead of guessing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from inbox.domain.content import Part, part_from_dict, part_to_dict
from inbox.domain.events import Event
from inbox.domain.typed_codec import CodecError, CustomCodec, TypedCodec
from inbox.domain.visibility import Viewer

__all__ = [
    "CODEC_VERSION",
    "EventDecodeError",
    "EventRegistry",
    "EventSpec",
    "OperatorFrame",
]

#: Bump when a change is not backwards compatible (a field renamed or its meaning changed);
#: adding an optional field with a default needs no bump.
CODEC_VERSION = 1

E = TypeVar("E", bound=Event)


class EventDecodeError(ValueError):
    """The text is not an event this registry understands: not JSON, another codec version,
    an unknown event type, or a field missing or of the wrong kind. The message names the
    event type and the problem, never field values (they may hold message text)."""


@dataclass(frozen=True, slots=True)
class OperatorFrame:
    """One WebSocket frame for every session whose viewer ``audience`` admits (the
    operator and their :class:`~inbox.domain.visibility.Visibility`, computed once per
    session). The frame is serialised once, whatever the number of sessions it goes to."""

    audience: Callable[[Viewer], bool]
    frame: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class EventSpec(Generic[E]):
    """The declaration of one event type.

    ``name`` is its wire name (unique; ``snake_case``). ``frames`` turns an event into the
    frames operators get (none when it is ``None``: a signal between the server's own parts,
    such as ``OutboxReady``).
    """

    name: str
    cls: type[E]
    frames: Callable[[E], Sequence[OperatorFrame]] | None = None


class EventRegistry:
    """Every event type this server knows. Built once by the composition root."""

    def __init__(self, specs: Iterable[EventSpec[Any]] = ()) -> None:
        self._by_name: dict[str, EventSpec[Any]] = {}
        self._by_cls: dict[type, EventSpec[Any]] = {}
        self._codec = TypedCodec({Part: CustomCodec(part_to_dict, part_from_dict)})
        for spec in specs:
            self.add(spec)

    def add(self, spec: EventSpec[Any]) -> None:
        """Declare an event type. Raises ``ValueError`` for a name or class declared twice
        and ``TypeError`` for a field type that cannot travel (found now, not in flight)."""
        if spec.name in self._by_name:
            raise ValueError(f"event name {spec.name!r} is declared twice")
        if spec.cls in self._by_cls:
            raise ValueError(f"event class {spec.cls.__name__} is declared twice")
        if not issubclass(spec.cls, Event):
            raise TypeError(f"{spec.cls.__name__} is not an Event")
        self._codec.check(spec.cls)
        self._by_name[spec.name] = spec
        self._by_cls[spec.cls] = spec

    @property
    def specs(self) -> Sequence[EventSpec[Any]]:
        return tuple(self._by_name.values())

    def spec_of(self, event: Event) -> EventSpec[Any]:
        spec = self._by_cls.get(type(event))
        if spec is None:
            raise TypeError(f"{type(event).__name__} is not a declared event")
        return spec

    def knows(self, event: Event) -> bool:
        return type(event) in self._by_cls

    # ------------------------------------------------------------------ frames

    def frames(self, event: Event) -> Sequence[OperatorFrame]:
        """The frames ``event`` becomes for operators (empty for an undeclared event)."""
        spec = self._by_cls.get(type(event))
        if spec is None or spec.frames is None:
            return ()
        return spec.frames(event)

    # ------------------------------------------------------------------ codec

    def to_dict(self, event: Event) -> dict[str, Any]:
        """The JSON-ready document of ``event``: ``{"v": 1, "type": ..., <fields>}``."""
        spec = self.spec_of(event)
        return {"v": CODEC_VERSION, "type": spec.name, **self._codec.encode(event)}

    def to_json(self, event: Event) -> str:
        """``event`` as compact ASCII JSON (non-ASCII text escaped, so any transport that
        moves bytes moves it unchanged, lone surrogates included)."""
        return json.dumps(self.to_dict(event), separators=(",", ":"))

    def from_dict(self, raw: Mapping[str, Any]) -> Event:
        """Inverse of :meth:`to_dict`. Raises :class:`EventDecodeError`."""
        if not isinstance(raw, Mapping):
            raise EventDecodeError("event is not an object")
        version = raw.get("v")
        if version != CODEC_VERSION:
            raise EventDecodeError(
                f"event codec version {version!r} is not supported "
                f"(this server reads {CODEC_VERSION})"
            )
        name = raw.get("type")
        spec = self._by_name.get(name) if isinstance(name, str) else None
        if spec is None:
            shown = name[:40] if isinstance(name, str) else type(name).__name__
            raise EventDecodeError(f"unknown event type {shown!r}")
        try:
            event: Event = self._codec.decode(spec.cls, raw)
        except CodecError as exc:
            raise EventDecodeError(f"bad {spec.name} event: {exc}") from exc
        return event

    def from_json(self, text: str | bytes) -> Event:
        """Inverse of :meth:`to_json`. Raises :class:`EventDecodeError`."""
        try:
            raw = json.loads(text)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise EventDecodeError("not JSON") from exc
        return self.from_dict(raw)
