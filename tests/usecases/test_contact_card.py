"""The customer card on a real database (SQLite and PostgreSQL): every conversation on
every channel with its outcome, orders, editing with permission checks, the duplicates
suggestion and a merge that keeps all history."""

from __future__ import annotations

import pytest

from inbox.domain.errors import Forbidden, InvalidInput, NotFound
from inbox.domain.events import ConversationChanged
from inbox.domain.ids import ContactId
from inbox.usecases import (
    contact_card,
    contact_duplicates,
    edit_contact,
    merge_contacts,
    resolve_conversation,
    set_close_reasons,
)
from storage import SqlStore
from storage.repositories.tx import SqlTx
from tests.usecases.console_support import Console


@pytest.fixture
async def console(store: SqlStore) -> Console:
    return await Console.open(store)


async def test_the_card_shows_every_channel_outcome_and_order(console: Console) -> None:
    c = console
    first = await c.say(c.web, "anna", name="Anna")
    await c.assign(first, c.op1)
    await set_close_reasons(c.core, c.admin, ["Sold", "Spam"])
    await c.add_order(first, 1001)
    await resolve_conversation(c.core, c.op1, first.id, "sold")
    on_telegram = await c.say(c.telegram, "tg-anna", name="Anna K")
    await c.add_order(on_telegram, 1002)
    await merge_contacts(c.core, c.sup, first.contact_id, on_telegram.contact_id)
    later = await c.say(c.web, "anna", "me again")  # reopens the web conversation
    assert later.id == first.id

    card = await contact_card(c.core, c.sup, first.contact_id)
    identities = {(v.channel_kind, v.identity.external_user_id) for v in card.identities}
    assert identities == {("webchat", "anna"), ("telegram", "tg-anna")}
    outcomes = {
        (conv.channel_kind, str(conv.status), conv.close_reason) for conv in card.conversations
    }
    assert outcomes == {("webchat", "queued", ""), ("telegram", "queued", "")}
    assert card.returning
    assert card.first_contact_at == first.created_at
    assert card.last_contact_at == later.last_message_at
    orders = await c.orders_of(first.contact_id)
    assert sorted(o.number for o in orders) == [1001, 1002]


async def test_the_card_keeps_a_close_reason_and_a_new_customer_is_new(console: Console) -> None:
    c = console
    conv = await c.say(c.web, "boris")
    await c.assign(conv, c.op1)
    await set_close_reasons(c.core, c.admin, ["Too expensive"])
    await resolve_conversation(c.core, c.op1, conv.id, "too EXPENSIVE")
    card = await contact_card(c.core, c.op1, conv.contact_id)
    assert [(str(x.status), x.close_reason) for x in card.conversations] == [
        ("resolved", "Too expensive")
    ]
    assert not card.returning
    assert card.may_edit


async def test_who_may_see_and_edit_the_card(console: Console) -> None:
    c = console
    queued = await c.say(c.web, "vera", name="Vera")
    contact_id = queued.contact_id
    # Queued: every operator sees it, nobody but supervisors may edit.
    card = await contact_card(c.core, c.op2, contact_id)
    assert not card.may_edit
    with pytest.raises(Forbidden):
        await edit_contact(c.core, c.op2, contact_id, {"notes": "likes blue"})
    await c.assign(queued, c.op1)
    # Assigned to op1: op2 may not even see it; op1 may edit.
    with pytest.raises(Forbidden):
        await contact_card(c.core, c.op2, contact_id)
    with pytest.raises(Forbidden):
        await edit_contact(c.core, c.op2, contact_id, {"name": "Nope"})
    edited = await edit_contact(
        c.core,
        c.op1,
        contact_id,
        {
            "name": "Vera Petrova",
            "phones": ["+7 900 111-22-33", "8 900 111 22 33", "+44 20 7946 0000"],
            "emails": ["Vera@Example.com"],
            "tags": ["VIP"],
            "notes": "  prefers e-mail  ",
        },
    )
    assert edited.phones == ("+7 900 111-22-33", "+44 20 7946 0000")  # one number once
    assert (edited.phone, edited.email, edited.tags, edited.notes) == (
        "+7 900 111-22-33",
        "Vera@Example.com",
        frozenset({"vip"}),
        "prefers e-mail",
    )
    # The lists show the new name, and consoles are told.
    stored = await c.conversation(queued.id)
    assert stored is not None
    assert stored.contact_name == "Vera Petrova"
    assert any(isinstance(e, ConversationChanged) and e.reason == "updated" for e in c.events)
    # Supervisors and admins edit any contact.
    await edit_contact(c.core, c.sup, contact_id, {"emails": []})
    card = await contact_card(c.core, c.admin, contact_id)
    assert card.contact.emails == ()
    assert card.contact.notes == "prefers e-mail"
    for bad in ({"emails": ["not-an-email"]}, {"phones": ["12"]}, {"name": ""}, {"age": 3}):
        with pytest.raises(InvalidInput):
            await edit_contact(c.core, c.sup, contact_id, bad)
    with pytest.raises(NotFound):
        await contact_card(c.core, c.sup, ContactId("missing"))


async def test_duplicates_are_contacts_sharing_a_phone_or_an_email(console: Console) -> None:
    c = console
    web = await c.say(c.web, "anna")
    tg = await c.say(c.telegram, "tg-anna")
    mail = await c.say(c.telegram, "tg-anna-2")
    stranger = await c.say(c.telegram, "tg-oleg")
    await edit_contact(c.core, c.sup, web.contact_id, {"phones": ["+7 (900) 123-45-67"]})
    await edit_contact(c.core, c.sup, tg.contact_id, {"phones": ["89001234567"]})
    await edit_contact(c.core, c.sup, mail.contact_id, {"emails": ["ANNA@shop.example"]})
    await edit_contact(
        c.core, c.sup, web.contact_id, {"emails": ["anna@shop.example"]}
    )  # phones stay
    await edit_contact(c.core, c.sup, stranger.contact_id, {"phones": ["+7 900 000-00-00"]})

    contact, found = await contact_duplicates(c.core, c.sup, web.contact_id)
    assert contact.phones == ("+7 (900) 123-45-67",)
    by_id = {d.contact.id: d for d in found}
    assert set(by_id) == {tg.contact_id, mail.contact_id}
    assert by_id[tg.contact_id].shared_phones == ("89001234567",)
    assert by_id[mail.contact_id].shared_emails == ("ANNA@shop.example",)
    # The same from the other side; an operator who may see the card may ask.
    _, back = await contact_duplicates(c.core, c.op1, tg.contact_id)
    assert [d.contact.id for d in back] == [web.contact_id]


async def test_a_merge_keeps_every_identity_conversation_and_order(console: Console) -> None:
    c = console
    web = await c.say(c.web, "anna", name="Anna")
    tg = await c.say(c.telegram, "tg-anna", name="Anna K")
    await edit_contact(
        c.core,
        c.sup,
        web.contact_id,
        {"phones": ["+7 900 123-45-67"], "tags": ["vip"], "notes": "web"},
    )
    await edit_contact(
        c.core,
        c.sup,
        tg.contact_id,
        {
            "phones": ["8 900 123 45 67", "+7 901 000 00 01"],
            "emails": ["anna@shop.example"],
            "tags": ["wholesale"],
            "notes": "telegram",
        },
    )
    await c.add_order(web, 1001)
    await c.add_order(tg, 1002)
    c.events.clear()

    merged = await merge_contacts(c.core, c.sup, web.contact_id, tg.contact_id)

    assert merged.phones == ("+7 900 123-45-67", "+7 901 000 00 01")
    assert merged.emails == ("anna@shop.example",)
    assert merged.tags == {"vip", "wholesale"}
    assert merged.notes == "web\n\ntelegram"
    card = await contact_card(c.core, c.sup, web.contact_id)
    assert {v.identity.external_user_id for v in card.identities} == {"anna", "tg-anna"}
    assert {x.id for x in card.conversations} == {web.id, tg.id}
    assert {o.number for o in await c.orders_of(web.contact_id)} == {1001, 1002}
    assert await c.orders_of(tg.contact_id) == []
    moved = await c.conversation(tg.id)
    assert moved is not None
    assert (moved.contact_id, moved.contact_name) == (web.contact_id, "Anna")
    assert {e.conversation.id for e in c.events if isinstance(e, ConversationChanged)} == {tg.id}

    async def gone(tx: SqlTx) -> object:
        return await tx.contacts.get(tg.contact_id)

    assert await c.store.read(gone) is None
    # The Telegram customer writes again: the message lands with the kept contact.
    again = await c.say(c.telegram, "tg-anna", "still there?")
    assert (again.id, again.contact_id) == (tg.id, web.contact_id)
    _, duplicates = await contact_duplicates(c.core, c.sup, web.contact_id)
    assert duplicates == []


async def test_a_merge_is_refused_for_itself_for_operators_and_for_nobody(
    console: Console,
) -> None:
    c = console
    web = await c.say(c.web, "anna")
    tg = await c.say(c.telegram, "tg-anna")
    await c.assign(web, c.op1)
    with pytest.raises(InvalidInput, match="itself"):
        await merge_contacts(c.core, c.admin, web.contact_id, web.contact_id)
    with pytest.raises(Forbidden):
        await merge_contacts(c.core, c.op1, web.contact_id, tg.contact_id)
    with pytest.raises(NotFound):
        await merge_contacts(c.core, c.sup, web.contact_id, ContactId("missing"))
    card = await contact_card(c.core, c.sup, tg.contact_id)
    assert [x.id for x in card.conversations] == [tg.id]  # nothing moved
