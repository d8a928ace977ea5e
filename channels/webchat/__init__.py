"""The web chat channel: the embeddable widget's server side (docs/webchat-protocol.md)."""

from channels.webchat.webhook import WebchatSocket
from channels.webchat.tokens import issue_visitor_token, verify_visitor_token
from channels.webchat.visitors import VisitorRegistry, WebchatSender

__all__ = [
    "VisitorRegistry",
    "WebchatSender",
    "WebchatSocket",
    "issue_visitor_token",
    "verify_visitor_token",
]
