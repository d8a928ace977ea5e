"""Viber REST bot API wire JSON ⇄ core types: the two pure halves, :mod:`.inbound` and
:mod:`.outbound`, behind one import. No I/O, clock or logging.

Inbound: one callback (``{"event": ..., ...}``) becomes customer messages and delivery
statuses, through a dispatch table per ``event`` and per ``message.type``
(docs/channels/viber.md, "What comes in"). Content we cannot represent becomes an explicit
:class:`Unsupported` part; nothing is dropped, nothing is smuggled into text.

External ids: ``external_id = str(message_token)``. Viber gives every message its own
token (a 64-bit integer: kept as text, never as a float), and a re-delivered callback
("Viber will retry the callback several times for an hour until HTTP 200": Viber FAQ)
carries the same token, so the id is unique per channel and stable across retries.
``delivered``/``seen``/``failed`` carry the token of *our* message — the one
``send_message`` returned and :class:`inbox.ports.SendReceipt` recorded.

Viber's bot API has no edits, reactions or quoted replies in its callbacks, so those
fields stay empty. Viber does not echo a bot's own messages to its webhook; as a guard, a
``message`` whose sender is a bot account (``pa:…`` ids, the form ``get_account_info``
returns) is dropped rather than stored as the customer's.

Reply buttons: :func:`build_requests` sends ``tracking_data`` listing the payloads of the
keyboard it attaches; Viber passes ``tracking_data`` back with the customer's next
message, and a press arrives as a text message whose text is the button's ``ActionBody``.
A text equal to one of those payloads becomes :class:`ButtonReply` (so a customer who types
the payload by hand also gets one: it means the same).

Outbound: :func:`build_requests` turns an :class:`OutboundMessage` into the
``send_message`` bodies to post, in order.
"""

from channels.viber.errors import PayloadError, Unsendable
from channels.viber.inbound import (
    ACK_ONLY_EVENTS,
    STICKER_REF_PREFIX,
    TRACKING_KEY,
    Converted,
    convert_callback,
)
from channels.viber.outbound import (
    MAX_BUTTONS,
    MAX_SENDER_NAME,
    MAX_TEXT_CHARS,
    MediaUrl,
    build_requests,
)

__all__ = [
    "ACK_ONLY_EVENTS",
    "MAX_BUTTONS",
    "MAX_SENDER_NAME",
    "MAX_TEXT_CHARS",
    "STICKER_REF_PREFIX",
    "TRACKING_KEY",
    "Converted",
    "MediaUrl",
    "PayloadError",
    "Unsendable",
    "build_requests",
    "convert_callback",
]
