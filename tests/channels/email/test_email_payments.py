"""A payment link by e-mail end to end: the real app with its poller and delivery worker,
a real Dovecot and SMTP sink, a real operator WebSocket and the sandbox provider's pay
page. Runs on SQLite and PostgreSQL.

E-mail has no buttons: the link is a plain link in the text part (a numbered line) and an
``<a href>`` in the HTML part; paying tells the customer once, in the same thread."""

from __future__ import annotations

from email.message import EmailMessage

from tests.channels.email.support import SmtpSink
from tests.channels.email.test_email_e2e import CUSTOMER, Mailroom, mail, online, room
from tests.e2e.test_payments_e2e import DEADLINE, EN_BUTTON, EN_LINK, EN_PAID, sandbox_checkout

__all__ = ["room"]  # the fixture, as test_email_e2e.py sets it up


def _bodies(message: EmailMessage) -> tuple[str, str]:
    plain = message.get_body(("plain",))
    rich = message.get_body(("html",))
    assert plain is not None
    assert rich is not None
    text = str(plain.get_content()).replace("\r\n", "\n")
    return text.rstrip("\n"), str(rich.get_content())


async def test_the_link_is_a_plain_link_in_both_parts_and_the_payment_is_confirmed_once(
    room: Mailroom, smtp: SmtpSink
) -> None:
    maria = await online(room)
    token = await room.live.token("maria")
    await room.deliver(mail("I'd like to order lenses", message_id="<order-1@example.org>"))
    assigned = await maria.expect("conversation.assigned", timeout=DEADLINE)

    done = await sandbox_checkout(
        room.live, maria, token, assigned["conversation"]["id"], smtp.messages
    )
    url = done.order["payment"]["url"]
    assert done.link["To"] == CUSTOMER
    assert done.link["In-Reply-To"] == "<order-1@example.org>"
    text, html = _bodies(done.link)
    assert text == f"{EN_LINK}\n1. {EN_BUTTON} {url}"
    assert f'<a href="{url}">{EN_BUTTON}</a>' in html
    assert EN_LINK in html

    assert done.paid["To"] == CUSTOMER
    text, html = _bodies(done.paid)
    assert text == EN_PAID
    assert EN_PAID in html
    assert [_bodies(m)[0] for m in smtp.messages()].count(EN_PAID) == 1
