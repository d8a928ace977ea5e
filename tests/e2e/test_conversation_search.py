"""``GET /api/v1/conversations``: search, filters, cursor pages and refusals, through a
running server with real customers on the web chat."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from inbox.domain.operators import Role
from tests.e2e.conftest import Live


async def _list(live: Live, token: str, **params: Any) -> list[str]:
    status, body = await live.api("GET", "/api/v1/conversations?" + urlencode(params), token)
    assert status == 200, body
    return [c["id"] for c in body["conversations"]]


async def _customer_says(live: Live, *texts: str) -> None:
    customer = await live.customer()
    await customer.hello()
    for n, text in enumerate(texts):
        await customer.say(text, f"c-{n}")


async def test_search_by_word_forms_and_visibility(live: Live) -> None:
    await live.add_operator("anna", capacity=1)  # the second conversation waits in the queue
    await live.add_operator("boris")
    await live.add_operator("sveta", role=Role.SUPERVISOR)
    anna = await live.online_operator("anna")
    await _customer_says(live, "Здравствуйте, где мой заказ?")
    annas = (await anna.expect("conversation.assigned"))["conversation"]["id"]
    await _customer_says(live, "I want to cancel my order")
    sveta = await live.token("sveta")
    everything = await _list(live, sveta)
    assert len(everything) == 2
    queued = next(i for i in everything if i != annas)

    assert await _list(live, sveta, q="заказа") == [annas]
    assert await _list(live, sveta, q="orders") == [queued]
    assert await _list(live, sveta, q="orders", status="assigned") == []
    # Boris sees the queue, never Anna's conversation, whatever he searches.
    boris = await live.token("boris")
    assert await _list(live, boris, q="заказа") == []
    assert await _list(live, boris, q="orders") == [queued]
    assert await _list(live, boris) == [queued]
    anna_token = await live.token("anna")
    assert await _list(live, anna_token, q="заказа", assignee="me") == [annas]

    assert await _list(live, sveta, status="open") == everything
    assert await _list(live, sveta, status="queued,assigned") == everything
    assert await _list(live, sveta, status="resolved") == []
    assert await _list(live, sveta, channel=live.channel_id, unread="true") == everything
    assert await _list(live, sveta, tag="vip") == []
    assert await _list(live, sveta, waiting_over=0) == [queued]
    assert await _list(live, sveta, waiting_over=3600) == []
    assert await _list(live, sveta, queue="no-such-queue") == []


async def test_cursor_pages_cover_every_conversation_once(live: Live) -> None:
    await live.add_operator("sveta", role=Role.SUPERVISOR)
    token = await live.token("sveta")
    for n in range(5):
        await _customer_says(live, f"question {n}")
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    pages = 0
    while True:
        status, body = await live.api("GET", "/api/v1/conversations?" + urlencode(params), token)
        assert status == 200, body
        seen.extend(c["id"] for c in body["conversations"])
        pages += 1
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
        if pages == 1:  # a new conversation meanwhile starts above the cursor
            await _customer_says(live, "a late question")
    assert pages == 3
    assert len(seen) == len(set(seen)) == 5
    assert set(seen) < set(await _list(live, token))


async def test_bad_parameters_are_refused_clearly(live: Live) -> None:
    await live.add_operator("sveta", role=Role.SUPERVISOR)
    token = await live.token("sveta")
    for query, says in (
        ("limit=0", "limit must be 1..200"),
        ("limit=500", "limit must be 1..200"),
        ("limit=many", "limit must be an integer"),
        ("cursor=bm9wZQ", "cursor is not one this server gave out"),
        ("cursor=%%%", "cursor is not one this server gave out"),
        ("status=waiting", "unknown status 'waiting'"),
        ("status=queued,", "unknown status ''"),
        ("waiting_over=-5", "waiting_over must be a number of seconds"),
        ("waiting_over=soon", "waiting_over must be an integer"),
        ("unread=maybe", "unread must be true or false"),
        ("q=" + "x" * 300, "q must be at most 200 characters"),
    ):
        status, body = await live.api("GET", "/api/v1/conversations?" + query, token)
        assert status == 400, (query, body)
        assert says in body["error"]["message"], (query, body)
