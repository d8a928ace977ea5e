"""The FAQ matcher and the hand-off words: Snowball stems, Russian and English."""

# Russian customer messages are what the matcher is for (RUF001).
# ruff: noqa: RUF001

from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bots.faq import FaqMatcher, mentions, stems
from bots.flow import FaqEntry, default_flow

DELIVERY = FaqEntry(
    answer="Доставляем за 1–2 дня.", keywords=("доставка", "курьер"), title="Доставка"
)
PAYMENT = FaqEntry(answer="Картой или наличными.", keywords=("оплата", "оплатить картой"))
WHEN = FaqEntry(answer="Завтра.", keywords=("когда привезут",))
EN_DELIVERY = FaqEntry(answer="1-2 days.", keywords=("delivery",))
EN_RETURNS = FaqEntry(answer="14 days.", keywords=("return", "refund"))

RU = FaqMatcher([DELIVERY, PAYMENT, WHEN], "ru")
EN = FaqMatcher([EN_DELIVERY, EN_RETURNS], "en")


def test_stems_casefold_fold_yo_and_split_on_punctuation() -> None:
    assert stems("Доставка, ДОСТАВКУ; доставки!", "ru") == ("доставк",) * 3
    assert stems("Ёлка", "ru") == stems("елка", "ru")
    assert stems("snake_case 1–2 дня", "ru") == ("snake", "case", "1", "2", "дня")
    assert stems("", "ru") == ()
    assert stems("?!… — ", "en") == ()


def test_stems_pick_the_stemmer_by_script_not_by_flow_language() -> None:
    # An English word in a Russian flow is stemmed as English, and the other way round.
    assert stems("deliveries доставки", "ru") == ("deliveri", "доставк")
    assert stems("deliveries доставки", "en") == ("deliveri", "доставк")
    # Other scripts and numbers are kept as they are.
    assert stems("東京 12345 Ελλάδα", "ru") == ("東京", "12345", "ελλάδα")


def test_stems_are_safe_across_threads() -> None:
    words = ["доставка", "deliveries", "операторы", "running"] * 200
    expected = [stems(word, "ru") for word in words]
    results: list[list[tuple[str, ...]]] = []

    def work() -> None:
        results.append([stems(word, "ru") for word in words])

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 4


@pytest.mark.parametrize(
    "text",
    [
        "доставка",
        "Какая у вас доставка?",
        "сколько стоит доставку",
        "нет доставки",
        "курьером можно?",
    ],
)
def test_russian_word_forms_match_one_entry(text: str) -> None:
    assert RU.match(text) == DELIVERY


@pytest.mark.parametrize(
    "text", ["delivery", "Deliveries?", "when is it delivered", "DELIVERY options"]
)
def test_english_word_forms_match_one_entry(text: str) -> None:
    assert EN.match(text) == EN_DELIVERY


def test_phrases_match_in_order_with_gaps() -> None:
    assert RU.match("А когда мне его привезут?") == WHEN
    assert RU.match("когда привезут") == WHEN
    # Out of order, or only one word of the phrase: no.
    assert RU.match("привезут когда") is None
    assert RU.match("когда откроетесь") is None


def test_more_matching_keywords_win_then_the_longest_keyword() -> None:
    both = FaqMatcher([DELIVERY, PAYMENT], "ru")
    # доставка (1) vs оплата + оплатить картой (2)
    assert both.match("доставка и оплата, оплатить картой можно?") == PAYMENT
    short = FaqEntry(answer="a", keywords=("заказ",))
    long = FaqEntry(answer="b", keywords=("статус заказа",))
    assert FaqMatcher([short, long], "ru").match("какой статус заказа") == long


def test_ties_go_to_the_earlier_entry() -> None:
    first = FaqEntry(answer="1", keywords=("курьер",))
    second = FaqEntry(answer="2", keywords=("курьер",))
    assert FaqMatcher([first, second], "ru").match("курьер") == first


def test_mixed_script_messages() -> None:
    matcher = FaqMatcher([EN_DELIVERY, DELIVERY], "ru")
    assert matcher.match("когда delivery?") == EN_DELIVERY
    assert matcher.match("курьер pls") == DELIVERY


def test_yo_and_e_are_one_letter() -> None:
    entry = FaqEntry(answer="a", keywords=("ёлка",))
    matcher = FaqMatcher([entry], "ru")
    assert matcher.match("Есть ЕЛКИ?") == entry
    assert FaqMatcher([FaqEntry(answer="b", keywords=("елка",))], "ru").match("ёлки") is not None


def test_no_match() -> None:
    assert RU.match("Здравствуйте") is None
    assert RU.match("") is None
    assert RU.match("?!") is None
    assert EN.match("hello there") is None
    assert FaqMatcher([], "ru").match("доставка") is None


def test_the_prefix_rule_is_narrow() -> None:
    operator = FaqEntry(answer="a", keywords=("operator",))  # stem "oper"
    assert FaqMatcher([operator], "en").match("I love the opera") is None
    digits = FaqEntry(answer="b", keywords=("12345",))
    assert FaqMatcher([digits], "en").match("order 123456") is None


def test_default_flows_answer_common_questions() -> None:
    ru = default_flow("ru")
    matcher = FaqMatcher(ru.faq, ru.language)
    assert matcher.match("Когда привезут мой заказ?") == ru.faq[0]
    assert matcher.match("можно оплатить картой?") == ru.faq[1]
    assert matcher.match("хочу вернуть товар") == ru.faq[2]
    en = default_flow("en")
    matcher = FaqMatcher(en.faq, en.language)
    assert matcher.match("how much is shipping") == en.faq[0]
    assert matcher.match("I want a refund") == en.faq[2]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("позовите оператора", "ru"),
        ("Оператор!", "ru"),
        ("хочу поговорить с живым человеком", "ru"),
        ("operator please", "ru"),  # an English hand-off word in a Russian flow
        ("Can I talk to an operator?", "en"),
        ("operators", "en"),
        ("a REAL person, please", "en"),
        ("дайте оператора", "en"),
    ],
)
def test_handoff_mentions(text: str, language: str) -> None:
    assert mentions(text, default_flow("ru" if language == "ru" else "en").handoff, language)


@pytest.mark.parametrize(
    ("text", "language"),
    [("где мой заказ", "ru"), ("операция прошла", "ru"), ("I love opera", "en"), ("", "en")],
)
def test_no_handoff_mention(text: str, language: str) -> None:
    assert not mentions(text, ["оператор", "operator", "real person"], language)


def test_mentions_of_no_phrases() -> None:
    assert not mentions("оператор", [], "ru")


@given(st.text(max_size=300))
def test_match_and_mentions_never_raise(text: str) -> None:
    RU.match(text)
    EN.match(text)
    mentions(text, ["оператор", "real person"], "ru")
    assert all(stems(text, "ru"))


def test_a_huge_message_is_cheap() -> None:
    matcher = FaqMatcher(default_flow("ru").faq, "ru")
    assert matcher.match("бла " * 20_000 + "доставка") is None  # past MAX_WORDS
