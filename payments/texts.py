"""What the customer reads about their order, in Russian or English."""

# Russian texts are the point of this module.

from __future__ import annotations

from payments.money import display
from payments.records import Order, OrderStatus

__all__ = ["link_button", "link_text", "status_text"]

_TEXTS = {
    "ru": {
        "link": "Заказ {number} на сумму {total}. Оплатить можно по ссылке:",
        "button": "Оплатить {total}",
        "paid": "Оплата получена, заказ {number}, {total}. Спасибо!",
        "shipped": "Заказ {number} отправлен.",
        "tracking": " Трек-номер: {tracking}.",
        "delivered": "Заказ {number} доставлен. Спасибо за покупку!",
        "cancelled": "Заказ {number} отменён.",
        "refunded": "Деньги за заказ {number} возвращены: {total}.",
    },
    "en": {
        "link": "Order {number}, {total}. You can pay here:",
        "button": "Pay {total}",
        "paid": "Payment received, order {number}, {total}. Thank you!",
        "shipped": "Order {number} has been shipped.",
        "tracking": " Tracking number: {tracking}.",
        "delivered": "Order {number} has been delivered. Thank you!",
        "cancelled": "Order {number} has been cancelled.",
        "refunded": "Order {number} has been refunded: {total}.",
    },
}


def _t(language: str) -> dict[str, str]:
    return _TEXTS["ru" if language.startswith("ru") else "en"]


def _total(order: Order, language: str) -> str:
    return display(order.total_minor, order.currency, language)


def link_text(order: Order, language: str) -> str:
    return _t(language)["link"].format(number=order.number, total=_total(order, language))


def link_button(order: Order, language: str) -> str:
    return _t(language)["button"].format(total=_total(order, language))


def status_text(order: Order, language: str) -> str | None:
    """The message for the order's new status, or None for a status the customer is not
    told about (draft, awaiting payment: the link says that)."""
    t = _t(language)
    values = {"number": str(order.number), "total": _total(order, language)}
    match order.status:
        case OrderStatus.PAID:
            return t["paid"].format(**values)
        case OrderStatus.SHIPPED:
            text = t["shipped"].format(**values)
            if order.tracking_number:
                text += t["tracking"].format(tracking=order.tracking_number)
            return text
        case OrderStatus.DELIVERED:
            return t["delivered"].format(**values)
        case OrderStatus.CANCELLED:
            return t["cancelled"].format(**values)
        case OrderStatus.REFUNDED:
            return t["refunded"].format(**values)
    return None
