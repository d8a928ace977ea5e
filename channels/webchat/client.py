"""The outbound side of the web chat: the sender that pushes operators' replies to the
visitor's open sockets (there is no provider API; the visitors are connected to us)."""

from __future__ import annotations

from channels.webchat.converter import message_frame, outbound_view
from channels.webchat.visitors import VisitorRegistry
from inbox.domain.channels import Channel
from inbox.domain.clock import Clock, SystemClock
from inbox.domain.messages import DeliveryStatus, OutboundMessage
from inbox.ports import SendReceipt

__all__ = ["WebchatSender"]


class WebchatSender:
    """Implements :class:`inbox.ports.ChannelSender` for the web chat: pushes the reply to the
    visitor's open sockets. A visitor who is offline gets it from the history on their next
    ``hello``, so the message counts as sent either way and as delivered when pushed.

    ``clock`` is the core's clock (``core.clock``); it dates a reply that has no
    ``created_at``. Without one the system clock is used."""

    def __init__(self, registry: VisitorRegistry, *, clock: Clock | None = None) -> None:
        self._registry = registry
        self._clock: Clock = clock or SystemClock()

    async def send(self, channel: Channel, message: OutboundMessage) -> SendReceipt:
        view = outbound_view(message, self._clock.now())
        pushed = self._registry.push(channel.id, message.recipient, message_frame(view))
        return SendReceipt(
            external_id=None,
            status=DeliveryStatus.DELIVERED if pushed else DeliveryStatus.SENT,
        )
