"""Frozen dataclasses ⇄ JSON-ready values, driven by their type hints.

The event registry (:mod:`inbox.domain.event_registry`) uses this to carry any declared
event between processes without a hand-written codec per event: a feature declares a
dataclass, and its fields travel by their types. Pure standard library.

What a field may be: ``str``, ``int``, ``float``, ``bool``, ``None``, a ``NewType`` of those,
an ``Enum`` (by value), a ``Literal`` of strings (checked on the way in), an aware
``datetime`` (ISO 8601 with its offset), ``X | None``, ``tuple[X, ...]``,
``Mapping[str, X]``, another dataclass of such fields, or a type with a custom codec
(content parts, whose union of dataclasses is tagged by their own ``type`` key). Anything
else is refused when the plan for a class is made, not while an event is in flight.

Plans are compiled once per class and cached on the codec: encoding is a list of
per-field closures, with no ``get_type_hints`` call per event.

Why not ``msgspec``: it decodes dataclasses well but refuses an untagged union of
dataclasses, which the content parts are; making them tagged Structs would change the
core vocabulary for the sake of one transport. ``bench/bench_event_codec.py`` measures
this codec against the bare JSON step it rides on (docs/architecture.md).
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Literal, Union, get_args, get_origin

__all__ = ["CodecError", "CustomCodec", "TypedCodec"]

Encoder = Callable[[Any], Any]
Decoder = Callable[[Any], Any]


class CodecError(ValueError):
    """A value does not fit its declared type. The message names the field path and the
    expected kind, never the value (it may hold a customer's words)."""


@dataclasses.dataclass(frozen=True, slots=True)
class CustomCodec:
    """How a type the hints cannot describe travels (``encode`` gives JSON-ready values)."""

    encode: Encoder
    decode: Decoder


def _fail(path: str, expected: str) -> CodecError:
    return CodecError(f"{path or 'value'} is not {expected}")


class TypedCodec:
    """Encodes and decodes dataclass instances by their type hints.

    ``custom`` maps a type (or a union object, such as ``Text | Image``) to its codec; it is
    consulted before the built-in rules.
    """

    def __init__(self, custom: Mapping[Any, CustomCodec] | None = None) -> None:
        self._custom: dict[Any, CustomCodec] = dict(custom or {})
        self._plans: dict[type, tuple[Encoder, Decoder]] = {}

    def encode(self, value: Any) -> dict[str, Any]:
        """The fields of the dataclass ``value`` as a JSON-ready ``dict``."""
        encoder, _ = self._plan(type(value))
        result: dict[str, Any] = encoder(value)
        return result

    def decode(self, cls: type[Any], raw: Any) -> Any:
        """An instance of the dataclass ``cls`` from :meth:`encode`'s output.

        Raises :class:`CodecError` when a field is missing or of the wrong kind.
        """
        _, decoder = self._plan(cls)
        return decoder(raw)

    def check(self, cls: type[Any]) -> None:
        """Compile the plan for ``cls`` now; raises ``TypeError`` for an unsupported field."""
        self._plan(cls)

    # ------------------------------------------------------------------ plans

    def _plan(self, cls: type[Any]) -> tuple[Encoder, Decoder]:
        plan = self._plans.get(cls)
        if plan is None:
            plan = self._dataclass(cls, cls.__name__)
            self._plans[cls] = plan
        return plan

    def _dataclass(self, cls: type[Any], path: str) -> tuple[Encoder, Decoder]:
        if not dataclasses.is_dataclass(cls):
            raise TypeError(f"{path}: {cls!r} is not a dataclass")
        hints = typing.get_type_hints(cls)
        fields = [
            (f.name, *self._for(hints[f.name], f"{path}.{f.name}"), _has_default(f))
            for f in dataclasses.fields(cls)
        ]

        def encode(value: Any) -> dict[str, Any]:
            return {name: enc(getattr(value, name)) for name, enc, _, _ in fields}

        def decode(raw: Any) -> Any:
            if not isinstance(raw, Mapping):
                raise _fail(path, "an object")
            kwargs: dict[str, Any] = {}
            for name, _, dec, optional in fields:
                if name in raw:
                    kwargs[name] = dec(raw[name])
                elif not optional:
                    raise CodecError(f"{path}: field '{name}' is missing")
            return cls(**kwargs)

        return encode, decode

    def _for(self, hint: Any, path: str) -> tuple[Encoder, Decoder]:
        custom = self._custom.get(hint)
        if custom is not None:
            return custom.encode, _guarded(custom.decode, path)
        if hasattr(hint, "__supertype__"):  # a NewType: travels as its base type
            return self._for(hint.__supertype__, path)
        origin = get_origin(hint)
        if origin is Literal:
            return self._literal(get_args(hint), path)
        if origin in (Union, types.UnionType):
            return self._union(get_args(hint), path)
        if origin is tuple:
            return self._tuple(get_args(hint), path)
        if origin in (Mapping, dict, typing.Mapping) or (
            origin is not None and isinstance(origin, type) and issubclass(origin, Mapping)
        ):
            return self._mapping(get_args(hint), path)
        if isinstance(hint, type):
            return self._scalar(hint, path)
        raise TypeError(f"{path}: no codec for {hint!r}")

    def _scalar(self, hint: type, path: str) -> tuple[Encoder, Decoder]:
        if issubclass(hint, enum.Enum):
            return _enum(hint, path)
        if hint is datetime:
            return _datetime(path)
        if hint is bool:
            return _identity, _checked(lambda v: isinstance(v, bool), path, "a boolean")
        if hint is int:
            return _identity, _checked(
                lambda v: isinstance(v, int) and not isinstance(v, bool), path, "an integer"
            )
        if hint is float:
            return float, _number(path)
        if hint is str:
            return _identity, _checked(lambda v: isinstance(v, str), path, "a string")
        if hint is type(None):
            return _identity, _checked(lambda v: v is None, path, "null")
        if dataclasses.is_dataclass(hint):
            nested = self._dataclass(hint, path)
            return nested
        raise TypeError(f"{path}: no codec for {hint!r}")

    def _literal(self, values: tuple[Any, ...], path: str) -> tuple[Encoder, Decoder]:
        allowed = frozenset(values)

        def decode(raw: Any) -> Any:
            if not isinstance(raw, str | int) or raw not in allowed:
                raise _fail(path, "one of " + ", ".join(sorted(map(str, allowed))))
            return raw

        return _identity, decode

    def _union(self, args: tuple[Any, ...], path: str) -> tuple[Encoder, Decoder]:
        others = [a for a in args if a is not type(None)]
        if len(others) != 1 or len(others) == len(args):
            raise TypeError(f"{path}: only 'X | None' unions travel without a custom codec")
        enc, dec = self._for(others[0], path)
        return (lambda v: None if v is None else enc(v)), (
            lambda raw: None if raw is None else dec(raw)
        )

    def _tuple(self, args: tuple[Any, ...], path: str) -> tuple[Encoder, Decoder]:
        if len(args) != 2 or args[1] is not Ellipsis:
            raise TypeError(f"{path}: only tuple[X, ...] is supported")
        enc, dec = self._for(args[0], f"{path}[]")

        def decode(raw: Any) -> tuple[Any, ...]:
            if not isinstance(raw, list | tuple):
                raise _fail(path, "a list")
            return tuple(dec(item) for item in raw)

        return (lambda v: [enc(item) for item in v]), decode

    def _mapping(self, args: tuple[Any, ...], path: str) -> tuple[Encoder, Decoder]:
        if len(args) != 2 or args[0] is not str:
            raise TypeError(f"{path}: only Mapping[str, X] is supported")
        enc, dec = self._for(args[1], f"{path}{{}}")

        def decode(raw: Any) -> dict[str, Any]:
            if not isinstance(raw, Mapping):
                raise _fail(path, "an object")
            return {str(k): dec(v) for k, v in raw.items()}

        return (lambda v: {k: enc(item) for k, item in v.items()}), decode


def _has_default(f: dataclasses.Field[Any]) -> bool:
    return f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING


def _identity(value: Any) -> Any:
    return value


def _checked(ok: Callable[[Any], bool], path: str, expected: str) -> Decoder:
    def decode(raw: Any) -> Any:
        if not ok(raw):
            raise _fail(path, expected)
        return raw

    return decode


def _number(path: str) -> Decoder:
    def decode(raw: Any) -> float:
        if not isinstance(raw, int | float) or isinstance(raw, bool):
            raise _fail(path, "a number")
        return float(raw)

    return decode


def _enum(hint: type[enum.Enum], path: str) -> tuple[Encoder, Decoder]:
    def decode(raw: Any) -> enum.Enum:
        try:
            return hint(raw)
        except ValueError:
            raise _fail(path, f"a {hint.__name__}") from None

    return (lambda v: v.value), decode


def _datetime(path: str) -> tuple[Encoder, Decoder]:
    def decode(raw: Any) -> datetime:
        if not isinstance(raw, str):
            raise _fail(path, "an ISO 8601 datetime")
        try:
            value = datetime.fromisoformat(raw)
        except ValueError:
            raise _fail(path, "an ISO 8601 datetime") from None
        if value.tzinfo is None:
            raise _fail(path, "a datetime with its UTC offset")
        return value

    return (lambda v: v.isoformat()), decode


def _guarded(decode: Decoder, path: str) -> Decoder:
    def guarded(raw: Any) -> Any:
        try:
            return decode(raw)
        except CodecError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CodecError(f"{path}: {type(exc).__name__}") from None

    return guarded
