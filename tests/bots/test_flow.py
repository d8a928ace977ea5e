"""The flow file: parsing YAML and JSON, every validation error, defaults, the menu."""

# Russian flow texts are what these tests feed the parser (RUF001).
# ruff: noqa: RUF001

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from bots.flow import (
    MAX_SOURCE_BYTES,
    TEXT_KEYS,
    BotFlow,
    CollectStep,
    FaqEntry,
    default_flow,
    default_texts,
    flow_from_json,
    flow_to_json,
    parse_flow,
)
from bots.menu import MENU_OPERATOR_PAYLOAD, faq_payload, menu_buttons, menu_choice
from inbox.domain.errors import InvalidInput, TooLarge

CONTRACT_EXAMPLE = """\
language: ru                      # ru | en
greeting: "Здравствуйте! Чем помочь?"
off_hours: "Сейчас мы не работаем. Ответим {next_open}."
faq:
  - answer: "Доставляем курьером за 1–2 дня."
    keywords: ["доставка", "курьер"]
handoff: ["оператор", "operator"]
collect: [phone]                  # asked before the hand-off, validated
"""


def test_the_contract_example_parses() -> None:
    flow = parse_flow(CONTRACT_EXAMPLE)
    assert flow.language == "ru"
    assert flow.greeting == "Здравствуйте! Чем помочь?"
    assert flow.faq == (
        FaqEntry(answer="Доставляем курьером за 1–2 дня.", keywords=("доставка", "курьер")),
    )
    assert flow.handoff == ("оператор", "operator")
    texts = default_texts("ru")
    assert flow.collect == (
        CollectStep(field="phone", prompt=texts["ask_phone"], retry=texts["bad_phone"]),
    )
    assert flow.menu is False  # no entry has a title
    assert flow.enabled is True
    assert set(flow.texts) == set(TEXT_KEYS)


def test_json_is_accepted_too() -> None:
    source = json.dumps(
        {
            "language": "en",
            "greeting": "Hi!",
            "faq": [{"title": "Delivery", "answer": "1-2 days.", "keywords": ["delivery"]}],
        }
    )
    flow = parse_flow(source)
    assert flow.language == "en"
    assert flow.greeting == "Hi!"
    assert flow.menu is True  # an entry has a title
    assert flow.texts == default_texts("en")


def test_only_language_is_required() -> None:
    flow = parse_flow("language: en")
    assert flow.greeting == default_flow("en").greeting
    assert flow.off_hours == default_flow("en").off_hours
    assert flow.handoff == default_flow("en").handoff
    assert flow.faq == ()
    assert flow.collect == ()


def test_everything_optional_can_be_given() -> None:
    flow = parse_flow(
        """
language: ru
enabled: false
menu: false
greeting: |
  Привет!
faq:
  - title: Доставка
    answer: Привезём завтра.
    keywords: [доставка, когда привезут]
  - title: Только в меню
    answer: Есть только кнопка.
collect:
  - phone
  - {field: email, prompt: "Ваш e-mail?", retry: "Это не e-mail."}
  - field: order_number
texts:
  fallback: Не понял.
  handoff_off_hours: "Ответим {next_open}, честно."
"""
    )
    assert flow.enabled is False
    assert flow.menu is False
    assert flow.greeting == "Привет!"  # stripped
    assert flow.faq[0].keywords == ("доставка", "когда привезут")
    assert flow.faq[1] == FaqEntry(answer="Есть только кнопка.", keywords=(), title="Только в меню")
    assert [step.field for step in flow.collect] == ["phone", "email", "order_number"]
    assert flow.collect[1] == CollectStep(
        field="email", prompt="Ваш e-mail?", retry="Это не e-mail."
    )
    assert flow.collect[2].prompt == default_texts("ru")["ask_order_number"]
    assert flow.texts["fallback"] == "Не понял."
    assert flow.texts["handoff"] == default_texts("ru")["handoff"]
    assert flow.text("handoff_off_hours", next_open="в 9:00") == "Ответим в 9:00, честно."


def test_collect_prompts_default_to_the_overridden_texts() -> None:
    flow = parse_flow('language: en\ncollect: [phone]\ntexts: {ask_phone: "Your phone?"}')
    assert flow.collect[0].prompt == "Your phone?"


# --- errors: each names its path -------------------------------------------------------

_LONG = "x" * 4097


def _faq(**entry: Any) -> dict[str, Any]:
    return {"language": "ru", "faq": [{"answer": "a", "keywords": ["k"]}, entry]}


ERRORS: list[tuple[Any, str]] = [
    ([1, 2], "flow file: must be a mapping (got a list)"),
    ({}, "flow file: language: is required"),
    ({"language": "de"}, "flow file: language: must be one of ru, en (got 'de')"),
    (
        {"language": "ru", "gretting": "hi"},
        "flow file: gretting: unknown key (did you mean 'greeting'?)",
    ),
    ({"language": "ru", "zzz": 1}, "flow file: zzz: unknown key (known keys: language"),
    ({"language": "ru", 1: "x"}, "flow file: keys must be strings (got 1)"),
    ({"language": "ru", "greeting": 5}, "flow file: greeting: must be a string (got int)"),
    ({"language": "ru", "greeting": "   "}, "flow file: greeting: must not be empty"),
    ({"language": "ru", "greeting": None}, "flow file: greeting: must be a string (got nothing)"),
    (
        {"language": "ru", "greeting": _LONG},
        "flow file: greeting: must be at most 4096 characters (got 4097)",
    ),
    ({"language": "ru", "enabled": "yes"}, "flow file: enabled: must be true or false (got 'yes')"),
    ({"language": "ru", "menu": 1}, "flow file: menu: must be true or false (got 1)"),
    (
        {"language": "ru", "faq": {"a": 1}},
        "flow file: faq: must be a list of entries (got a mapping)",
    ),
    (
        {"language": "ru", "faq": [{"answer": "a", "keywords": ["k"]}] * 101},
        "flow file: faq: at most 100 entries allowed (got 101)",
    ),
    ({"language": "ru", "faq": ["text"]}, "flow file: faq[0]: must be a mapping (got str)"),
    (_faq(keywords=["k"]), "flow file: faq[1].answer: is required"),
    (
        _faq(answer="a", keywords="доставка"),
        "flow file: faq[1].keywords: must be a list of strings (got str)",
    ),
    (
        _faq(answer="a", keywords=["a", 2]),
        "flow file: faq[1].keywords: must be a list of strings (faq[1].keywords[1] is int)",
    ),
    (
        _faq(answer="a", keywords=["k"] * 51),
        "flow file: faq[1].keywords: at most 50 allowed (got 51)",
    ),
    (
        _faq(answer="a", keywords=["k" * 101]),
        "flow file: faq[1].keywords[0]: must be at most 100 characters (got 101)",
    ),
    (_faq(answer="a", keywords=[""]), "flow file: faq[1].keywords[0]: must not be empty"),
    (
        _faq(answer="a", keywords=["?!"]),
        "flow file: faq[1].keywords[0]: must contain a letter or a digit",
    ),
    (_faq(answer="a"), "flow file: faq[1]: needs keywords or a title"),
    (
        _faq(answer="a", keywords=["k"], titel="x"),
        "flow file: faq[1].titel: unknown key (did you mean 'title'?)",
    ),
    (_faq(answer="a", keywords=["k"], title=""), "flow file: faq[1].title: must not be empty"),
    (
        _faq(answer="a", keywords=["k"], title="t" * 101),
        "flow file: faq[1].title: must be at most 100 characters",
    ),
    (
        {
            "language": "ru",
            "faq": [{"answer": "a", "title": "Доставка"}, {"answer": "b", "title": "доставка "}],
        },
        "flow file: faq[1].title: the same as faq[0].title",
    ),
    (
        _faq(answer="Ответим {next_open}", keywords=["k"]),
        "flow file: faq[1].answer: unknown placeholder {next_open}: no placeholder is allowed here",
    ),
    (
        {"language": "ru", "handoff": "оператор"},
        "flow file: handoff: must be a list of strings (got str)",
    ),
    ({"language": "ru", "handoff": ["ok"] * 51}, "flow file: handoff: at most 50 allowed (got 51)"),
    (
        {"language": "ru", "handoff": ["ok", None]},
        "flow file: handoff: must be a list of strings (handoff[1] is nothing)",
    ),
    (
        {"language": "ru", "collect": "phone"},
        "flow file: collect: must be a list of fields (got str)",
    ),
    (
        {"language": "ru", "collect": ["fax"]},
        "flow file: collect[0]: must be one of phone, email, order_number (got 'fax')",
    ),
    (
        {"language": "ru", "collect": [{"field": "fax"}]},
        "flow file: collect[0].field: must be one of phone, email, order_number",
    ),
    ({"language": "ru", "collect": [{"prompt": "?"}]}, "flow file: collect[0].field: is required"),
    (
        {"language": "ru", "collect": ["phone", {"field": "phone"}]},
        "flow file: collect[1].field: phone is asked for twice",
    ),
    (
        {"language": "ru", "collect": [{"field": "phone", "promt": "?"}]},
        "flow file: collect[0].promt: unknown key (did you mean 'prompt'?)",
    ),
    (
        {"language": "ru", "collect": [{"field": "phone", "retry": 3}]},
        "flow file: collect[0].retry: must be a string (got int)",
    ),
    ({"language": "ru", "collect": [7]}, "flow file: collect[0]: must be a mapping (got int)"),
    ({"language": "ru", "texts": ["x"]}, "flow file: texts: must be a mapping (got a list)"),
    (
        {"language": "ru", "texts": {"falback": "x"}},
        "flow file: texts.falback: unknown key (did you mean 'fallback'?)",
    ),
    ({"language": "ru", "texts": {"fallback": ""}}, "flow file: texts.fallback: must not be empty"),
    # {next_open} is the only placeholder, and only in off_hours and handoff_off_hours.
    (
        {"language": "ru", "off_hours": "Ответим {next_opn}."},
        "flow file: off_hours: unknown placeholder {next_opn}: only {next_open} is allowed here",
    ),
    (
        {"language": "ru", "off_hours": "Ответим {}."},
        "flow file: off_hours: unknown placeholder {}",
    ),
    (
        {"language": "ru", "texts": {"handoff_off_hours": "{name}, ждите {next_open}"}},
        "flow file: texts.handoff_off_hours: unknown placeholder {name}",
    ),
    (
        {"language": "ru", "greeting": "Ответим {next_open}"},
        "flow file: greeting: unknown placeholder {next_open}: no placeholder is allowed here",
    ),
    (
        {"language": "ru", "texts": {"handoff": "Ждите {next_open}"}},
        "flow file: texts.handoff: unknown placeholder {next_open}",
    ),
]


@pytest.mark.parametrize(("data", "message"), ERRORS, ids=[m for _, m in ERRORS])
def test_every_error_names_its_path(data: Any, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        flow_from_json(data)
    assert caught.value.message.startswith(message), caught.value.message


_JSONABLE = [(data, message) for data, message in ERRORS if "keys must be strings" not in message]


@pytest.mark.parametrize(("data", "message"), _JSONABLE, ids=[m for _, m in _JSONABLE])
@pytest.mark.parametrize("dump", [json.dumps, yaml.safe_dump], ids=["json", "yaml"])
def test_parse_flow_gives_the_same_errors(
    data: Any, message: str, dump: Callable[[Any], str]
) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_flow(dump(data))
    assert caught.value.message.startswith(message), caught.value.message


def test_a_lone_brace_is_plain_text() -> None:
    flow = flow_from_json({"language": "ru", "greeting": "Привет :-{", "off_hours": "x"})
    assert flow.text("greeting") == "Привет :-{"
    assert flow.text("off_hours", next_open="завтра") == "x"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("language: ru\ngreeting: [unclosed\n", "flow file: line 3, column 1:"),
        (
            "language: ru\n  bad: indent\n",
            "flow file: line 2, column 6: mapping values are not allowed",
        ),
        (
            "language: ru\nlanguage: en\n",
            "flow file: line 2, column 1: key 'language' is given twice",
        ),
        (
            "language: ru\nfaq:\n  - answer: a\n    answer: b\n",
            "flow file: line 4, column 5: key 'answer' is given twice",
        ),
        ('{"language": "ru",}', "flow file: line 1, column 19: Expecting property name"),
        ('{"language": "ru", "language": "en"}', "flow file: key 'language' is given twice"),
        ("", "flow file: is empty"),
        ("# only a comment\n", "flow file: is empty"),
        ("just text", "flow file: must be a mapping (got str)"),
        ("language: ru\nfaq: &a [*a]\n", "flow file: line 2"),
    ],
)
def test_malformed_files_name_the_line(source: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_flow(source)
    assert caught.value.message.startswith(message), caught.value.message


def test_unsafe_yaml_tags_are_refused() -> None:
    with pytest.raises(InvalidInput, match="line 1"):
        parse_flow("!!python/object/apply:os.system ['true']")


def test_a_huge_file_is_too_large() -> None:
    with pytest.raises(TooLarge):
        parse_flow("language: ru\n#" + "x" * MAX_SOURCE_BYTES)


# --- defaults, text(), round trip ------------------------------------------------------


@pytest.mark.parametrize("language", ["ru", "en"])
def test_default_flow(language: Any) -> None:
    flow = default_flow(language)
    assert flow.language == language
    assert flow.menu is True
    assert len(flow.faq) >= 3
    assert all(entry.title and entry.keywords for entry in flow.faq)
    assert set(flow.texts) == set(TEXT_KEYS)
    assert "{next_open}" in flow.off_hours
    assert "{next_open}" in flow.texts["handoff_off_hours"]
    # The defaults pass their own validation.
    assert flow_from_json(flow_to_json(flow)) == flow


def test_default_texts_differ_by_language() -> None:
    assert default_texts("ru")["handoff"] != default_texts("en")["handoff"]
    assert default_texts("en")["csat_request"] == "Please rate our answer from 1 to 5."


def test_text_formats_next_open_and_needs_it() -> None:
    flow = default_flow("en")
    assert (
        flow.text("off_hours", next_open="at 9:00") == "We are closed now. We will answer at 9:00."
    )
    assert flow.text("fallback", next_open="ignored") == flow.texts["fallback"]
    with pytest.raises(KeyError):
        flow.text("off_hours")
    with pytest.raises(KeyError):
        flow.text("no_such_text")


def test_flows_are_hashable_and_immutable() -> None:
    flow = default_flow("ru")
    assert hash(flow) == hash(flow_from_json(flow_to_json(flow)))
    with pytest.raises(TypeError):
        flow.texts["fallback"] = "x"  # type: ignore[index]


def test_flow_to_json_is_json_and_yaml_round_trips() -> None:
    flow = parse_flow(CONTRACT_EXAMPLE)
    data = flow_to_json(flow)
    assert parse_flow(json.dumps(data, ensure_ascii=False)) == flow
    assert data["collect"] == [
        {"field": "phone", "prompt": flow.texts["ask_phone"], "retry": flow.texts["bad_phone"]}
    ]
    assert "title" not in data["faq"][0]


_plain = (
    st.text(alphabet="abcxyzABCабвгдеёЖ 019.,!?-–{", min_size=1, max_size=30)
    .map(str.strip)
    .filter(bool)
)
_word = st.text(alphabet="abcxyzабвгдеё019", min_size=1, max_size=12)


@st.composite
def flows(draw: st.DrawFn) -> dict[str, Any]:
    titles = draw(
        st.lists(
            _plain, max_size=4, unique_by=lambda t: " ".join(t.casefold().replace("ё", "е").split())
        )
    )
    faq: list[dict[str, Any]] = []
    for title in titles:
        entry: dict[str, Any] = {
            "answer": draw(_plain),
            "keywords": draw(st.lists(_word, min_size=1, max_size=3)),
        }
        if draw(st.booleans()):
            entry["title"] = title
        faq.append(entry)
    data: dict[str, Any] = {
        "language": draw(st.sampled_from(["ru", "en"])),
        "faq": faq,
        "collect": draw(st.lists(st.sampled_from(["phone", "email", "order_number"]), unique=True)),
        "texts": draw(st.dictionaries(st.sampled_from(TEXT_KEYS), _plain, max_size=3)),
    }
    for key in ("greeting", "handoff", "menu", "enabled"):
        if draw(st.booleans()):
            data[key] = draw(
                st.booleans()
                if key in ("menu", "enabled")
                else st.lists(_word, max_size=3)
                if key == "handoff"
                else _plain
            )
    if draw(st.booleans()):
        data["off_hours"] = draw(_plain) + " {next_open}"
    return data  # fmt: skip


@given(flows())
def test_round_trip(data: dict[str, Any]) -> None:
    flow = flow_from_json(data)
    assert flow_from_json(flow_to_json(flow)) == flow
    assert flow_to_json(flow_from_json(flow_to_json(flow))) == flow_to_json(flow)
    assert parse_flow(json.dumps(flow_to_json(flow))) == flow


# --- the menu --------------------------------------------------------------------------


def test_menu_buttons_offer_titled_entries_then_the_operator() -> None:
    flow = flow_from_json(
        {
            "language": "en",
            "faq": [
                {"title": "Delivery", "answer": "a", "keywords": ["delivery"]},
                {"answer": "b", "keywords": ["secret"]},
                {"title": "Returns", "answer": "c"},
            ],
        }
    )
    buttons = menu_buttons(flow)
    assert [(b.title, b.payload, b.kind) for b in buttons] == [
        ("Delivery", faq_payload(0), "reply"),
        ("Returns", faq_payload(2), "reply"),
        ("Talk to an operator", MENU_OPERATOR_PAYLOAD, "reply"),
    ]
    assert menu_choice(flow, faq_payload(2)) == flow.faq[2]
    assert menu_choice(flow, "1") == flow.faq[0]
    assert menu_choice(flow, " 2) ") == flow.faq[2]
    assert menu_choice(flow, "3.") == "operator"
    assert menu_choice(flow, MENU_OPERATOR_PAYLOAD) == "operator"
    assert menu_choice(flow, "  RETURNS ") == flow.faq[2]
    assert menu_choice(flow, "talk to an  operator") == "operator"
    assert menu_choice(flow, "4") is None
    assert menu_choice(flow, "0") is None
    assert menu_choice(flow, "where is my delivery?") is None


def test_no_menu_when_it_is_off() -> None:
    flow = flow_from_json(
        {"language": "ru", "menu": False, "faq": [{"title": "Ёлки", "answer": "a"}]}
    )
    assert menu_buttons(flow) == ()
    assert menu_choice(flow, "1") is None
    on = flow_from_json({"language": "ru", "faq": [{"title": "Ёлки", "answer": "a"}]})
    assert menu_choice(on, "елки") == on.faq[0]


def test_menu_on_without_titles_offers_the_operator_only() -> None:
    flow = flow_from_json({"language": "ru", "menu": True})
    assert [b.payload for b in menu_buttons(flow)] == [MENU_OPERATOR_PAYLOAD]


def test_botflow_is_constructible_directly() -> None:
    flow = BotFlow(
        language="en",
        greeting="Hi",
        off_hours="Closed",
        faq=(),
        handoff=(),
        collect=(),
        menu=False,
        texts=default_texts("en"),
    )
    assert flow.enabled is True
