"""The bot's flow file: what the bot says and when, as one validated, immutable value.

A flow arrives as YAML or JSON (``inbox bot set QUEUE --file FLOW.yaml``, the REST body,
the stored row) and is checked here, once, with messages that name the offending path
(``flow file: faq[2].keywords: must be a list of strings``). Every key but ``language`` is
optional and takes the language's default, so a flow file says only what differs::

    language: ru                      # ru | en (required: it picks the defaults)
    enabled: true
    greeting: "Здравствуйте! Чем помочь?"
    off_hours: "Сейчас мы не работаем. Ответим {next_open}."
    menu: true                        # default: true when any FAQ entry has a title
    faq:
      - title: "Доставка"             # optional: a menu button
        answer: "Доставляем курьером за 1–2 дня."
        keywords: ["доставка", "курьер", "когда привезут"]
    handoff: ["оператор", "operator"] # words or phrases that ask for a human
    collect: [phone, {field: email, prompt: "Ваш e-mail?", retry: "Не похоже на e-mail"}]
    texts: {fallback: "...", handoff: "..."}   # any of TEXT_KEYS

Unknown keys are errors at every level: a typo must not pass silently. ``{next_open}`` is
the only placeholder, allowed only in ``off_hours`` and ``texts.handoff_off_hours``; any
other ``{...}`` anywhere is an error (a lone brace is plain text).
"""

# Russian default texts and examples are the point of this module (RUF001/RUF002).
# ruff: noqa: RUF001, RUF002

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, NoReturn

import yaml

from bots.flow_defaults import (
    DEFAULT_FAQ,
    DEFAULT_GREETING,
    DEFAULT_HANDOFF,
    DEFAULT_OFF_HOURS,
    DEFAULT_TEXTS,
)
from inbox.domain.errors import InvalidInput, TooLarge

__all__ = [
    "COLLECT_FIELDS",
    "MAX_FAQ_ENTRIES",
    "MAX_KEYWORDS",
    "MAX_KEYWORD_CHARS",
    "MAX_SOURCE_BYTES",
    "MAX_TEXT_CHARS",
    "MAX_TITLE_CHARS",
    "TEXT_KEYS",
    "BotFlow",
    "CollectField",
    "CollectStep",
    "FaqEntry",
    "Language",
    "default_flow",
    "default_texts",
    "flow_from_json",
    "flow_to_json",
    "fold",
    "parse_flow",
]

CollectField = Literal["phone", "email", "order_number"]
Language = Literal["ru", "en"]

COLLECT_FIELDS: tuple[CollectField, ...] = ("phone", "email", "order_number")
LANGUAGES: tuple[Language, ...] = ("ru", "en")

#: Telegram and WhatsApp both cap a message at 4096 characters.
MAX_TEXT_CHARS = 4096
MAX_FAQ_ENTRIES = 100
MAX_KEYWORDS = 50
MAX_KEYWORD_CHARS = 100
MAX_HANDOFF_PHRASES = 50
#: A menu button's title; channels with shorter limits (WhatsApp: 20) degrade to text.
MAX_TITLE_CHARS = 100
#: 100 entries of 4096-character answers and 50 keywords of 100 characters each fit in
#: about 1 MiB; anything much larger is not a flow file.
MAX_SOURCE_BYTES = 2 * 1024 * 1024


_NEXT_OPEN = "{next_open}"
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
_HAS_WORD = re.compile(r"[^\W_]")

#: Every key of ``texts:``; the bot says nothing that is not in this list or in the flow.
TEXT_KEYS: tuple[str, ...] = tuple(DEFAULT_TEXTS["en"])
_NEXT_OPEN_TEXTS = frozenset({"off_hours", "texts.handoff_off_hours"})

_TOP_KEYS = (
    "language",
    "enabled",
    "greeting",
    "off_hours",
    "menu",
    "faq",
    "handoff",
    "collect",
    "texts",
)
_FAQ_KEYS = ("title", "answer", "keywords")
_COLLECT_KEYS = ("field", "prompt", "retry")


@dataclass(frozen=True, slots=True)
class FaqEntry:
    answer: str
    keywords: tuple[str, ...]
    title: str = ""


@dataclass(frozen=True, slots=True)
class CollectStep:
    """One thing the bot asks before the hand-off: ``prompt`` first, ``retry`` after bad
    input (:func:`bots.collect.validate` says what is bad)."""

    field: CollectField
    prompt: str
    retry: str


@dataclass(frozen=True, slots=True)
class BotFlow:
    """A validated flow. Build it with :func:`parse_flow`, :func:`flow_from_json` or
    :func:`default_flow`; those fill every text with its default, so ``texts`` holds every
    key of :data:`TEXT_KEYS`. Hashable (``texts`` is left out of the hash, not of ``==``),
    so a flow can key a cache of its :class:`bots.faq.FaqMatcher`."""

    language: Language
    greeting: str
    off_hours: str
    faq: tuple[FaqEntry, ...]
    handoff: tuple[str, ...]
    collect: tuple[CollectStep, ...]
    menu: bool
    texts: Mapping[str, str] = field(hash=False)
    enabled: bool = True

    def text(self, key: str, **values: str) -> str:
        """The text ``key`` (one of :data:`TEXT_KEYS`, or ``greeting`` / ``off_hours``)
        with its placeholders filled from ``values``. Extra values are ignored; a missing
        one raises :class:`KeyError` (``next_open`` for ``off_hours``), as does an unknown
        key. Braces that are not a placeholder stay as they are."""
        if key == "greeting":
            template = self.greeting
        elif key == "off_hours":
            template = self.off_hours
        else:
            template = self.texts[key]
        return _PLACEHOLDER.sub(lambda m: values[m.group()[1:-1]], template)


def default_flow(language: Language) -> BotFlow:
    """A shop's starting flow: a greeting with a menu of four common questions (delivery,
    payment, returns, where is my order), the hand-off words, nothing collected."""
    return BotFlow(
        language=language,
        greeting=DEFAULT_GREETING[language],
        off_hours=DEFAULT_OFF_HOURS[language],
        faq=tuple(FaqEntry(e.answer, e.keywords, e.title) for e in DEFAULT_FAQ[language]),
        handoff=DEFAULT_HANDOFF[language],
        collect=(),
        menu=True,
        texts=default_texts(language),
    )


def default_texts(language: Language) -> Mapping[str, str]:
    """The default of every key of :data:`TEXT_KEYS` in ``language``."""
    return MappingProxyType(dict(DEFAULT_TEXTS[language]))


# --- parsing -----------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that rejects a key given twice (plain YAML keeps the last)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    result: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in result
        except TypeError:  # an unhashable key ([a, b]: x): let the validation name it
            duplicate = False
            key = repr(key)
        if duplicate:
            mark = key_node.start_mark
            raise InvalidInput(
                f"flow file: line {mark.line + 1}, column {mark.column + 1}: "
                f"key {key!r} is given twice"
            )
        result[key] = loader.construct_object(value_node, deep=True)
    return result


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise InvalidInput(f"flow file: key {key!r} is given twice")
        result[key] = value
    return result


def parse_flow(source: str) -> BotFlow:
    """Parse and validate a flow file, YAML or JSON (text starting with ``{``).

    Raises :class:`InvalidInput` naming the line of a syntax error or the path of a bad
    value, :class:`TooLarge` past :data:`MAX_SOURCE_BYTES`."""
    if len(source.encode("utf-8", "surrogatepass")) > MAX_SOURCE_BYTES:
        raise TooLarge(f"flow file: larger than {MAX_SOURCE_BYTES} bytes")
    data: Any
    if source.lstrip().startswith("{"):
        try:
            data = json.loads(source, object_pairs_hook=_json_pairs)
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                f"flow file: line {exc.lineno}, column {exc.colno}: {exc.msg}"
            ) from exc
    else:
        try:
            data = yaml.load(source, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
            problem = exc.problem or exc.context or "not valid YAML"
            raise InvalidInput(f"flow file: {where}{problem}") from exc
        except yaml.YAMLError as exc:
            raise InvalidInput(f"flow file: not valid YAML: {exc}") from exc
    if data is None:
        raise InvalidInput("flow file: is empty")
    return flow_from_json(data)


def flow_from_json(data: Mapping[str, Any]) -> BotFlow:
    """Validate a decoded flow (the REST body, the stored JSON) like :func:`parse_flow`."""
    top = _mapping(data, "", _TOP_KEYS)
    if "language" not in top:
        _fail("language", "is required (ru or en)")
    language = top["language"]
    if language not in LANGUAGES:
        _fail("language", f"must be one of ru, en (got {language!r})")
    texts = dict(DEFAULT_TEXTS[language])
    if "texts" in top:
        given = _mapping(top["texts"], "texts", TEXT_KEYS)
        for key, value in given.items():
            texts[key] = _text(value, f"texts.{key}")
    faq = _faq(top.get("faq", []))
    has_titles = any(entry.title for entry in faq)
    return BotFlow(
        language=language,
        enabled=_bool(top.get("enabled", True), "enabled"),
        greeting=_text(top.get("greeting", DEFAULT_GREETING[language]), "greeting"),
        off_hours=_text(top.get("off_hours", DEFAULT_OFF_HOURS[language]), "off_hours"),
        menu=_bool(top.get("menu", has_titles), "menu"),
        faq=faq,
        handoff=_phrases(
            top.get("handoff", list(DEFAULT_HANDOFF[language])),
            "handoff",
            MAX_HANDOFF_PHRASES,
        ),
        collect=_collect(top.get("collect", []), texts),
        texts=MappingProxyType(texts),
    )


def flow_to_json(flow: BotFlow) -> dict[str, Any]:
    """Every key spelled out (texts and prompts included), so ``inbox bot show`` shows what
    can be edited; :func:`flow_from_json` gives back an equal flow."""
    return {
        "language": flow.language,
        "enabled": flow.enabled,
        "greeting": flow.greeting,
        "off_hours": flow.off_hours,
        "menu": flow.menu,
        "faq": [
            {
                **({"title": entry.title} if entry.title else {}),
                "answer": entry.answer,
                "keywords": list(entry.keywords),
            }
            for entry in flow.faq
        ],
        "handoff": list(flow.handoff),
        "collect": [
            {"field": step.field, "prompt": step.prompt, "retry": step.retry}
            for step in flow.collect
        ],
        "texts": {key: flow.texts[key] for key in TEXT_KEYS},
    }


def fold(text: str) -> str:
    """Text as a customer's reply is compared to a title: case, ё/е and spacing ignored."""
    return " ".join(text.casefold().replace("ё", "е").split())


# --- validation helpers ------------------------------------------------------------------


def _fail(path: str, problem: str) -> NoReturn:
    raise InvalidInput(f"flow file: {path}: {problem}" if path else f"flow file: {problem}")


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


def _mapping(value: object, path: str, known: Sequence[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        _fail(path, f"must be a mapping (got {_kind(value)})")
    for key in value:
        if not isinstance(key, str):
            _fail(path, f"keys must be strings (got {key!r})")
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean {close[0]!r}?" if close else "known keys: " + ", ".join(known)
            _fail(f"{path}.{key}" if path else key, f"unknown key ({hint})")
    return value


def _list(value: object, path: str, what: str) -> list[Any]:
    if not isinstance(value, list | tuple):
        _fail(path, f"must be a list of {what} (got {_kind(value)})")
    return list(value)


def _bool(value: object, path: str) -> bool:
    if not isinstance(value, bool):
        _fail(path, f"must be true or false (got {value!r})")
    return value


def _text(value: object, path: str, *, limit: int = MAX_TEXT_CHARS) -> str:
    if not isinstance(value, str):
        _fail(path, f"must be a string (got {_kind(value)})")
    text = value.strip()
    if not text:
        _fail(path, "must not be empty")
    if len(text) > limit:
        _fail(path, f"must be at most {limit} characters (got {len(text)})")
    for placeholder in _PLACEHOLDER.finditer(text):
        if placeholder.group() == _NEXT_OPEN and path in _NEXT_OPEN_TEXTS:
            continue
        allowed = (
            f"only {_NEXT_OPEN} is allowed here"
            if path in _NEXT_OPEN_TEXTS
            else f"no placeholder is allowed here ({_NEXT_OPEN} only in off_hours and "
            "texts.handoff_off_hours)"
        )
        _fail(path, f"unknown placeholder {placeholder.group()}: {allowed}")
    return text


def _phrases(value: object, path: str, limit: int) -> tuple[str, ...]:
    items = _list(value, path, "strings")
    if len(items) > limit:
        _fail(path, f"at most {limit} allowed (got {len(items)})")
    phrases: list[str] = []
    for index, item in enumerate(items):
        item_path = f"{path}[{index}]"
        if not isinstance(item, str):
            _fail(path, f"must be a list of strings ({item_path} is {_kind(item)})")
        phrase = _text(item, item_path, limit=MAX_KEYWORD_CHARS)
        if not _HAS_WORD.search(phrase):
            _fail(item_path, "must contain a letter or a digit")
        phrases.append(phrase)
    return tuple(phrases)


def _faq(value: object) -> tuple[FaqEntry, ...]:
    items = _list(value, "faq", "entries")
    if len(items) > MAX_FAQ_ENTRIES:
        _fail("faq", f"at most {MAX_FAQ_ENTRIES} entries allowed (got {len(items)})")
    entries: list[FaqEntry] = []
    titles: dict[str, int] = {}
    for index, item in enumerate(items):
        path = f"faq[{index}]"
        entry = _mapping(item, path, _FAQ_KEYS)
        if "answer" not in entry:
            _fail(f"{path}.answer", "is required")
        answer = _text(entry["answer"], f"{path}.answer")
        keywords = _phrases(entry.get("keywords", []), f"{path}.keywords", MAX_KEYWORDS)
        title = ""
        if "title" in entry:
            title = _text(entry["title"], f"{path}.title", limit=MAX_TITLE_CHARS)
            folded = fold(title)
            if folded in titles:
                _fail(f"{path}.title", f"the same as faq[{titles[folded]}].title")
            titles[folded] = index
        if not keywords and not title:
            _fail(path, "needs keywords or a title (nothing could reach it)")
        entries.append(FaqEntry(answer=answer, keywords=keywords, title=title))
    return tuple(entries)


def _collect(value: object, texts: Mapping[str, str]) -> tuple[CollectStep, ...]:
    items = _list(value, "collect", "fields")
    steps: list[CollectStep] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        path = f"collect[{index}]"
        spec: Mapping[str, Any]
        if isinstance(item, str):
            spec, field_path = {"field": item}, path
        else:
            spec, field_path = _mapping(item, path, _COLLECT_KEYS), f"{path}.field"
            if "field" not in spec:
                _fail(field_path, "is required (" + ", ".join(COLLECT_FIELDS) + ")")
        name = spec["field"]
        if name not in COLLECT_FIELDS:
            _fail(field_path, f"must be one of {', '.join(COLLECT_FIELDS)} (got {name!r})")
        if name in seen:
            _fail(field_path, f"{name} is asked for twice")
        seen.add(name)
        prompt = spec.get("prompt", texts[f"ask_{name}"])
        retry = spec.get("retry", texts[f"bad_{name}"])
        steps.append(
            CollectStep(
                field=name,
                prompt=_text(prompt, f"{path}.prompt"),
                retry=_text(retry, f"{path}.retry"),
            )
        )
    return tuple(steps)
