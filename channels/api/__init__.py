"""The ``api`` channel kind: requests the shop's systems post over the inbound API
(``POST /api/v1/requests``: website forms, call events), each a new conversation routed
like any other (docs/api.md, "Inbound API"). The kind delivers nothing: replies on its
conversations are refused (``ChannelSpec.no_replies``); operators answer on one of the
customer's other channels, and notes work as everywhere."""

from channels.api.converter import ApiRequest, parse_request, to_inbound
from channels.api.spec import KIND, SPEC

__all__ = ["KIND", "SPEC", "ApiRequest", "parse_request", "to_inbound"]
