"""The web chat channel: the embeddable widget's server side (docs/webchat-protocol.md)."""

from channels.webchat.client import WebchatSender
from channels.webchat.tokens import issue_visitor_token, verify_visitor_token
from channels.webchat.visitors import VisitorRegistry
from channels.webchat.webhook import WebchatSocket

__all__ = [
    "VisitorRegistry",
    "WebchatSender",
    "WebchatSocket",
    "issue_visitor_token",
    "verify_visitor_token",
]
