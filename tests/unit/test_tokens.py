"""Visitor tokens are unforgeable and bound to their channel."""

from __future__ import annotations

from channels.webchat import issue_visitor_token, verify_visitor_token


def test_visitor_tokens() -> None:
    visitor, token = issue_visitor_token("secret", "chan1")
    assert verify_visitor_token("secret", "chan1", token) == visitor
    assert verify_visitor_token("secret", "chan2", token) is None
    assert verify_visitor_token("other", "chan1", token) is None
    forged = visitor[:-1] + ("0" if visitor[-1] != "0" else "1") + token[len(visitor) :]
    assert verify_visitor_token("secret", "chan1", forged) is None
    for junk in ("", ".", "abc", token + "x", "v" * 33 + "."):
        assert verify_visitor_token("secret", "chan1", junk) is None
