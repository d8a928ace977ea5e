"""How the OpenAPI document is put together from its files (operator_ws/openapi,
docs/openapi.md): every part's paths, components and tags land in one document, and a
declaration made twice is refused instead of one silently replacing the other."""

from __future__ import annotations

import pytest

from operator_ws.openapi import assemble, load_document

BASE = """
openapi: 3.1.0
info: {title: t, version: "1"}
tags: [{name: one}]
components:
  schemas:
    Error: {type: object}
"""

ORDERS = """
paths:
  /api/v1/orders:
    get: {responses: {"200": {description: ok}}}
components:
  schemas:
    Order: {type: object}
tags: [{name: orders}]
"""


def test_parts_are_merged_into_the_base() -> None:
    doc = assemble(BASE, {"orders.yaml": ORDERS})
    assert list(doc["paths"]) == ["/api/v1/orders"]
    assert set(doc["components"]["schemas"]) == {"Error", "Order"}
    assert [t["name"] for t in doc["tags"]] == ["one", "orders"]


@pytest.mark.parametrize(
    ("part", "message"),
    [
        ("paths:\n  /api/v1/orders: {}\n", "second.yaml: path '/api/v1/orders' is declared twice"),
        (
            "components:\n  schemas:\n    Order: {}\n",
            "second.yaml: components.schemas 'Order' is declared twice",
        ),
        ("tags: [{name: orders}]\n", "second.yaml: tag 'orders' is declared twice"),
        ("info: {title: other}\n", "second.yaml: unknown top-level key 'info'"),
    ],
)
def test_a_second_declaration_is_refused(part: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(")):
        assemble(BASE, {"orders.yaml": ORDERS, "second.yaml": part})


def test_the_packaged_files_make_one_document() -> None:
    doc = load_document()
    assert doc["openapi"] == "3.1.0"
    assert "/api/v1/conversations" in doc["paths"]
    assert "/api/v1/conversations/{id}/messages" in doc["paths"]
    assert {"Conversation", "Message", "Order", "Error"} <= set(doc["components"]["schemas"])
