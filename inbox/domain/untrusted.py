"""Input from outside -- providers' webhooks, browsers' frames, API clients -- made safe
to handle before anything else looks at it.

- :func:`parse_json`: JSON that is not UTF-8, not JSON, or nested deeper than
  :data:`MAX_DEPTH` raises :class:`BadJson` (a ``ValueError``, so every handler that
  answers bad JSON with a 400 or an error frame answers these too; ``json.loads`` itself
  raises ``RecursionError`` for ``[[[[…]]]]``, which is not one). A lone surrogate
  (``"\\ud800"`` is valid JSON, but no UTF-8 store can keep the character it decodes to)
  is replaced by U+FFFD, so the message is kept and readable instead of failing its
  store for ever while the provider resends it.
- :func:`same_secret`: a secret from a header compared with the expected one as bytes, in
  constant time; a header with bytes that are not UTF-8 (aiohttp hands them over as
  surrogate escapes) is simply not the secret, instead of an exception before auth.
"""

from __future__ import annotations

import hmac
import json
import re
from typing import Any

__all__ = ["MAX_DEPTH", "BadJson", "parse_json", "same_secret", "without_lone_surrogates"]

#: Deepest nesting of arrays and objects accepted; the providers' payloads need under 10.
MAX_DEPTH = 64

_SURROGATE = re.compile("[\ud800-\udfff]")


class BadJson(ValueError):
    """The input is not UTF-8, not JSON, or nested too deeply (the message says which)."""


def parse_json(raw: bytes | bytearray | memoryview | str) -> Any:
    """The JSON value of ``raw``; raises :class:`BadJson`. See the module's docstring."""
    if isinstance(raw, str):
        text = raw
    else:
        try:
            text = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            raise BadJson("the body is not UTF-8") from None
    try:
        value = json.loads(text)
    except RecursionError:
        raise BadJson(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    except ValueError:
        raise BadJson("the body is not valid JSON") from None
    # Counting brackets is cheap; only a value with many of them is walked for its depth.
    if text.count("[") + text.count("{") > MAX_DEPTH and _too_deep(value):
        raise BadJson(f"JSON nested deeper than {MAX_DEPTH} levels")
    # Bytes decoded strictly hold no surrogate: only escapes (or a str given) can.
    if "\\ud" in text or "\\uD" in text or (raw is text and _SURROGATE.search(text)):
        value = _clean_value(value)
    return value


def without_lone_surrogates(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD (a pair stays a character)."""
    if not _SURROGATE.search(text):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def same_secret(given: str | None, expected: str) -> bool:
    """Whether ``given`` is ``expected``, compared in constant time as bytes. An empty
    ``expected`` matches nothing; undecodable bytes in ``given`` do not raise."""
    if not expected or given is None:
        return False
    try:
        ours = given.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(ours, expected.encode("utf-8"))


def _too_deep(value: Any) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > MAX_DEPTH:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


def _clean_value(value: Any) -> Any:
    """``value`` with lone surrogates replaced in every string and key (in place for the
    containers ``json.loads`` just made; no recursion)."""
    if isinstance(value, str):
        return without_lone_surrogates(value)
    if not isinstance(value, dict | list):
        return value
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            for i, child in enumerate(item):
                if isinstance(child, str):
                    item[i] = without_lone_surrogates(child)
                elif isinstance(child, dict | list):
                    stack.append(child)
            continue
        for key in list(item):
            child = item[key]
            if isinstance(child, str):
                child = without_lone_surrogates(child)
            elif isinstance(child, dict | list):
                stack.append(child)
            clean_key = without_lone_surrogates(key)
            if clean_key != key:
                del item[key]
            item[clean_key] = child
    return value
