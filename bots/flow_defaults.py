"""The bot's default texts and starting flow, per language (docs/bots.md); every text
can be replaced in the flow file's ``texts:``."""

# Russian default texts are the point of this module (RUF001/RUF002).
# ruff: noqa: RUF001

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, NamedTuple

__all__ = [
    "DEFAULT_FAQ",
    "DEFAULT_GREETING",
    "DEFAULT_HANDOFF",
    "DEFAULT_OFF_HOURS",
    "DEFAULT_TEXTS",
    "FaqDefault",
]

Language = Literal["ru", "en"]


class FaqDefault(NamedTuple):
    title: str
    answer: str
    keywords: tuple[str, ...]


DEFAULT_TEXTS: Mapping[Language, Mapping[str, str]] = {
    "ru": {
        "ask_phone": "Оставьте, пожалуйста, номер телефона для связи.",
        "ask_email": "Оставьте, пожалуйста, адрес электронной почты.",
        "ask_order_number": "Напишите, пожалуйста, номер заказа.",
        "bad_phone": "Не получилось распознать номер. Напишите его в формате +7 916 123-45-67.",
        "bad_email": "Не похоже на адрес почты. Напишите его в виде name@example.com.",
        "bad_order_number": "Не получилось распознать номер заказа. Пример: 12345 или AB-123.",
        "handoff": "Соединяю с оператором…",
        "handoff_off_hours": "Оператор ответит {next_open}.",
        "fallback": "Я не понял вопрос. Переформулируйте его или напишите «оператор».",
        "menu_operator": "Связаться с оператором",
        "menu_prompt": "Выберите тему или напишите вопрос:",
        "bot_name": "Бот",
        "pay_not_found": (
            "Не нашёл неоплаченный заказ с таким номером. Напишите «оператор», и вам помогут."
        ),
        "csat_request": "Оцените, пожалуйста, наш ответ от 1 до 5.",
        "csat_thanks": "Спасибо за оценку!",
        "csat_comment_prompt": "Если хотите, напишите, что можно улучшить.",
        "chat_ended": "Диалог завершён. Если появятся вопросы — пишите.",
    },
    "en": {
        "ask_phone": "Please leave a phone number we can reach you at.",
        "ask_email": "Please leave your email address.",
        "ask_order_number": "Please type your order number.",
        "bad_phone": "I could not read that number. Please write it like +44 20 7946 0958.",
        "bad_email": "That does not look like an email address. Write it like name@example.com.",
        "bad_order_number": "I could not read that order number. Example: 12345 or AB-123.",
        "handoff": "Connecting you to an operator…",
        "handoff_off_hours": "An operator will answer {next_open}.",
        "fallback": "I did not get that. Please rephrase, or type “operator”.",
        "menu_operator": "Talk to an operator",
        "menu_prompt": "Pick a topic or type your question:",
        "bot_name": "Bot",
        "pay_not_found": (
            "I could not find an unpaid order with that number. Type “operator” for help."
        ),
        "csat_request": "Please rate our answer from 1 to 5.",
        "csat_thanks": "Thank you for your rating!",
        "csat_comment_prompt": "If you like, tell us what we could do better.",
        "chat_ended": "The chat has ended. Write again any time.",
    },
}

DEFAULT_GREETING: Mapping[Language, str] = {
    "ru": "Здравствуйте! Чем помочь?",
    "en": "Hello! How can we help?",
}
DEFAULT_OFF_HOURS: Mapping[Language, str] = {
    "ru": "Сейчас мы не работаем. Ответим {next_open}.",
    "en": "We are closed now. We will answer {next_open}.",
}
DEFAULT_HANDOFF: Mapping[Language, tuple[str, ...]] = {
    "ru": ("оператор", "человек", "менеджер", "живой человек", "operator"),
    "en": ("operator", "human", "agent", "real person", "оператор"),
}


#: A shop's starting FAQ: delivery, payment, returns, where is my order.
DEFAULT_FAQ: Mapping[Language, tuple[FaqDefault, ...]] = {
    "ru": (
        FaqDefault(
            title="Доставка",
            answer="Доставляем курьером за 1–2 дня, по России — почтой за 3–7 дней.",
            keywords=("доставка", "курьер", "когда привезут", "сроки"),
        ),
        FaqDefault(
            title="Оплата",
            answer="Оплатить можно картой на сайте или при получении.",
            keywords=("оплата", "оплатить", "карта", "наличные"),
        ),
        FaqDefault(
            title="Возврат и обмен",
            answer="Вернуть или обменять товар можно в течение 14 дней после получения.",
            keywords=("возврат", "вернуть", "обмен", "обменять"),
        ),
        FaqDefault(
            title="Где мой заказ?",
            answer="Статус заказа пришлём в этот чат. Напишите номер заказа оператору.",
            keywords=("где заказ", "статус заказа", "отследить"),
        ),
    ),
    "en": (
        FaqDefault(
            title="Delivery",
            answer="A courier delivers in 1–2 days; parcels by post take 3–7 days.",
            keywords=("delivery", "courier", "shipping", "when will it arrive"),
        ),
        FaqDefault(
            title="Payment",
            answer="Pay by card on the website or on delivery.",
            keywords=("payment", "pay", "card", "cash"),
        ),
        FaqDefault(
            title="Returns and exchanges",
            answer="You can return or exchange an item within 14 days of receiving it.",
            keywords=("return", "refund", "exchange"),
        ),
        FaqDefault(
            title="Where is my order?",
            answer="We will post the order's status in this chat. Tell an operator its number.",
            keywords=("where order", "order status", "track"),
        ),
    ),
}
