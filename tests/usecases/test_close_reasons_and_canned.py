"""Close reasons and canned replies on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from inbox.domain.canned import CannedReplyId
from inbox.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from inbox.domain.views import conversation_view
from inbox.usecases import (
    create_canned_reply,
    delete_canned_reply,
    edit_contact,
    list_canned_replies,
    list_close_reasons,
    render_canned_reply,
    reopen,
    resolve_conversation,
    set_close_reasons,
    update_canned_reply,
)
from storage import SqlStore
from tests.usecases.console_support import Console


@pytest.fixture
async def console(store: SqlStore) -> Console:
    return await Console.open(store)


# --------------------------------------------------------------------------- close reasons


async def test_only_admins_keep_the_list_and_it_is_never_empty(console: Console) -> None:
    c = console
    with pytest.raises(InvalidInput, match="cannot be empty"):
        await set_close_reasons(c.core, c.admin, [])
    with pytest.raises(Forbidden):
        await set_close_reasons(c.core, c.sup, ["Sold"])
    for bad in (["Sold", "sold"], ["x" * 61], [""], "Sold", [1]):
        with pytest.raises(InvalidInput):
            await set_close_reasons(c.core, c.admin, bad)
    assert await set_close_reasons(c.core, c.admin, ["  Sold ", "Not in stock", "Spam"]) == [
        "Sold",
        "Not in stock",
        "Spam",
    ]
    assert await list_close_reasons(c.core) == ["Sold", "Not in stock", "Spam"]


async def test_a_resolve_stores_a_reason_from_the_list(console: Console) -> None:
    c = console
    await set_close_reasons(c.core, c.admin, ["Sold", "Not in stock"])
    conv = await c.assign(await c.say(c.web, "anna"), c.op1)
    with pytest.raises(InvalidInput, match="unknown close reason 'cheap'; one of: Sold"):
        await resolve_conversation(c.core, c.op1, conv.id, "cheap")
    resolved = await resolve_conversation(c.core, c.op1, conv.id, "not in STOCK")
    assert resolved.close_reason == "Not in stock"
    stored = await c.conversation(conv.id)
    assert stored is not None
    assert conversation_view(stored)["close_reason"] == "Not in stock"
    # Reopened, the reason goes; resolving without one (bots, older consoles) still works.
    reopened = await reopen(c.core, c.op1, conv.id)
    assert reopened.close_reason == ""
    again = await resolve_conversation(c.core, c.sup, conv.id)
    assert conversation_view(again)["close_reason"] is None
    # Renaming the list later leaves the reason a conversation was given.
    await reopen(c.core, c.sup, conv.id)
    await resolve_conversation(c.core, c.sup, conv.id, "Sold")
    await set_close_reasons(c.core, c.admin, ["Won"])
    kept = await c.conversation(conv.id)
    assert kept is not None
    assert kept.close_reason == "Sold"


# --------------------------------------------------------------------------- canned replies


async def test_private_replies_stay_private_and_shared_ones_are_for_supervisors(
    console: Console,
) -> None:
    c = console
    mine = await create_canned_reply(c.core, c.op1, {"shortcut": "/Price", "text": "It is 10"})
    assert (mine.shortcut, mine.shared, mine.owner_id) == ("/price", False, c.op1.id)
    with pytest.raises(Forbidden):
        await create_canned_reply(c.core, c.op1, {"shortcut": "/hi", "text": "Hi", "shared": True})
    shared = await create_canned_reply(
        c.core, c.sup, {"shortcut": "/price", "text": "Prices: ...", "shared": True}
    )
    # op1 sees their own first, then the shared one; op2 only the shared one.
    assert [r.id for r in await list_canned_replies(c.core, c.op1)] == [mine.id, shared.id]
    assert [r.id for r in await list_canned_replies(c.core, c.op2)] == [shared.id]
    # Another operator's private reply does not exist for op2 (nor for a supervisor).
    for who in (c.op2, c.sup):
        with pytest.raises(NotFound):
            await update_canned_reply(c.core, who, mine.id, {"text": "mine now"})
        with pytest.raises(NotFound):
            await delete_canned_reply(c.core, who, mine.id)
    with pytest.raises(Forbidden):
        await update_canned_reply(c.core, c.op1, shared.id, {"text": "changed"})
    with pytest.raises(Forbidden):
        await delete_canned_reply(c.core, c.op2, shared.id)
    changed = await update_canned_reply(c.core, c.admin, shared.id, {"text": "New prices"})
    assert changed.text == "New prices"
    assert changed.shared
    await delete_canned_reply(c.core, c.op1, mine.id)
    assert [r.id for r in await list_canned_replies(c.core, c.op1)] == [shared.id]
    with pytest.raises(NotFound):
        await delete_canned_reply(c.core, c.op1, CannedReplyId("missing"))


async def test_a_shortcut_is_unique_per_owner_and_among_shared_ones(console: Console) -> None:
    c = console
    first = await create_canned_reply(c.core, c.op1, {"shortcut": "/hi", "text": "Hello"})
    with pytest.raises(Conflict, match="one of your replies already has the shortcut /hi"):
        await create_canned_reply(c.core, c.op1, {"shortcut": "/HI", "text": "Hey"})
    await create_canned_reply(c.core, c.op2, {"shortcut": "/hi", "text": "Hi there"})
    await create_canned_reply(c.core, c.sup, {"shortcut": "/hi", "text": "Hi", "shared": True})
    with pytest.raises(Conflict, match="a shared reply"):
        await create_canned_reply(
            c.core, c.admin, {"shortcut": "/hi", "text": "Hi!", "shared": True}
        )
    bye = await create_canned_reply(c.core, c.op1, {"shortcut": "/bye", "text": "Bye"})
    with pytest.raises(Conflict):
        await update_canned_reply(c.core, c.op1, bye.id, {"shortcut": "/hi"})
    assert (await update_canned_reply(c.core, c.op1, first.id, {"shortcut": "/hi"})).text == "Hello"
    for bad in (
        {"shortcut": "price", "text": "x"},
        {"shortcut": "/", "text": "x"},
        {"shortcut": "/a"},
    ):
        with pytest.raises(InvalidInput):
            await create_canned_reply(c.core, c.op1, bad)


async def test_a_reply_is_rendered_for_a_conversation(console: Console) -> None:
    c = console
    conv = await c.assign(await c.say(c.web, "anna", name="Anna"), c.op1)
    await edit_contact(c.core, c.op1, conv.contact_id, {"phones": ["+7 900 123-45-67"]})
    reply = await create_canned_reply(
        c.core,
        c.op1,
        {
            "shortcut": "/hello",
            "text": "Hello {customer.name}, I am {operator.name}. We call {customer.phone}."
            " {unknown} {customer.email}",
        },
    )
    text = await render_canned_reply(c.core, c.op1, reply.id, conv.id)
    assert text == "Hello Anna, I am Op1. We call +7 900 123-45-67. {unknown} "
    # Not for a conversation the operator may not see, nor someone else's reply.
    shared = await create_canned_reply(
        c.core, c.sup, {"shortcut": "/hello", "text": "Hi {customer.name}", "shared": True}
    )
    assert await render_canned_reply(c.core, c.op1, shared.id, conv.id) == "Hi Anna"
    with pytest.raises(NotFound):
        await render_canned_reply(c.core, c.op2, reply.id, conv.id)
    with pytest.raises(Forbidden):
        await render_canned_reply(c.core, c.op2, shared.id, conv.id)
    own = await create_canned_reply(c.core, c.op2, {"shortcut": "/x", "text": "x"})
    with pytest.raises(NotFound):
        await render_canned_reply(c.core, c.op1, own.id, conv.id)
