"""The operators' REST API under ``/api/v1`` (docs/operator-protocol.md), one module per
resource; :class:`OperatorApi` collects every route for the root in one call.

=================  ==========================================================
``auth``           login, logout, ``/me``
``conversations``  list, one, its messages, posting a reply
``media``          uploading an attachment, downloading a message's file
``contacts``       the customer card, editing, duplicates, merging; a conversation's
                   contact and its tags
``close_reasons``  the close reasons; resolving with one
``canned``         canned replies, personal and shared, and filling them in
``operators``      list, update
``channels``       list, a channel's message templates
``routing``        a conversation's routing explanation, offers, queues
``bots``           business hours and bot flows per queue
``orders``         orders, payment links, payment providers
``tokens``         API tokens (admins)
``contact_sync``   the shop's contacts API: upsert and look up by phone, e-mail, external id
``common``         bearer authentication, JSON bodies, parameters, error bodies
=================  ==========================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from aiohttp import web

from bots import BotService
from inbox.ports import ChannelAdapter, MediaStore, PasswordHasher
from inbox.usecases import Core
from operator_ws.hub import OperatorHub
from operator_ws.rest.auth import AuthRoutes
from operator_ws.rest.bots import BotRoutes, ScopeResolver
from operator_ws.rest.canned import CannedReplyRoutes
from operator_ws.rest.channels import ChannelAdmin, ChannelRoutes
from operator_ws.rest.client_address import Networks
from operator_ws.rest.close_reasons import CloseReasonRoutes
from operator_ws.rest.contact_sync import ContactSyncRoutes
from operator_ws.rest.contacts import ContactRoutes
from operator_ws.rest.conversations import ConversationRoutes
from operator_ws.rest.media import MediaRoutes
from operator_ws.rest.operators import OperatorRoutes
from operator_ws.rest.orders import OrderRoutes
from operator_ws.rest.routing import RoutingRoutes
from operator_ws.rest.tokens import TokenRoutes
from payments.service import PaymentService
from routing.ports import RoutingControl

__all__ = ["OperatorApi"]


class OperatorApi:
    """Every REST resource of the console. Errors become JSON by the app's error
    middleware; every route but login needs ``Authorization: Bearer <token>``."""

    def __init__(
        self,
        core: Core,
        hasher: PasswordHasher,
        hub: OperatorHub,
        token_ttl: timedelta,
        media: MediaStore,
        adapters: Mapping[str, ChannelAdapter],
        routing: RoutingControl,
        bots: BotService,
        resolve_scope: ScopeResolver,
        payments: PaymentService,
        channel_admin: ChannelAdmin | None = None,
        *,
        online_on_login: bool = True,
        trusted_proxies: Networks = (),
    ) -> None:
        self._resources = (
            AuthRoutes(
                core,
                hasher,
                hub,
                token_ttl,
                online_on_login=online_on_login,
                trusted_proxies=trusted_proxies,
            ),
            OperatorRoutes(core, hasher),
            ChannelRoutes(core, channel_admin),
            ConversationRoutes(core, bots.csat),
            MediaRoutes(core, media, adapters),
            ContactRoutes(core, payments),
            CloseReasonRoutes(core),
            CannedReplyRoutes(core),
            RoutingRoutes(core, routing),
            BotRoutes(core, bots, resolve_scope),
            OrderRoutes(core, payments),
            TokenRoutes(core),
            ContactSyncRoutes(core),
        )

    def routes(self) -> list[web.RouteDef]:
        """All routes, ready for ``app.add_routes``."""
        return [route for resource in self._resources for route in resource.routes()]
