"""Use cases: plain async ``verb_noun`` functions over the ports (STYLE.md #6)."""

from inbox.usecases.admission import Admission
from inbox.usecases.automatic import (
    AutomaticAuthor,
    send_automatic_reply,
    write_automatic_note,
    write_automatic_reply,
)
from inbox.usecases.canned import (
    create_canned_reply,
    delete_canned_reply,
    list_canned_replies,
    render_canned_reply,
    update_canned_reply,
)
from inbox.usecases.channel_cache import ChannelCache
from inbox.usecases.channels import (
    add_channel,
    cached_channel,
    get_channel,
    list_channels,
    set_channel_enabled,
)
from inbox.usecases.close_reasons import list_close_reasons, set_close_reasons
from inbox.usecases.contacts import (
    ContactCard,
    ContactIdentityView,
    Duplicate,
    contact_card,
    contact_duplicates,
    conversation_contact,
    edit_contact,
    merge_contacts,
    parse_tags,
    set_contact_tags,
)
from inbox.usecases.delivery import record_delivery
from inbox.usecases.deps import Core, Outcome, run
from inbox.usecases.handoff import hand_off, write_bot_resolve, write_hand_off
from inbox.usecases.ingest import IngestResult, ingest_inbound
from inbox.usecases.intake import RouteEverything
from inbox.usecases.lifecycle import (
    assign_conversation,
    claim_conversation,
    mark_read,
    reopen,
    resolve_conversation,
)
from inbox.usecases.operators import (
    LoginResult,
    add_operator,
    authenticate,
    hash_token,
    list_operators,
    login,
    logout,
    set_presence,
    touch_operators,
    update_operator,
)
from inbox.usecases.queries import (
    CustomerHistory,
    customer_history,
    get_conversation,
    list_conversations,
    list_messages,
)
from inbox.usecases.replies import (
    WriteResult,
    add_note,
    send_reply,
    write_note,
    write_system_message,
)
from inbox.usecases.webhooks import receive_webhook, record_status, store_batch

__all__ = [
    "Admission",
    "AutomaticAuthor",
    "ChannelCache",
    "ContactCard",
    "ContactIdentityView",
    "Core",
    "CustomerHistory",
    "Duplicate",
    "IngestResult",
    "LoginResult",
    "Outcome",
    "RouteEverything",
    "WriteResult",
    "add_channel",
    "add_note",
    "add_operator",
    "assign_conversation",
    "authenticate",
    "cached_channel",
    "claim_conversation",
    "contact_card",
    "contact_duplicates",
    "conversation_contact",
    "create_canned_reply",
    "customer_history",
    "delete_canned_reply",
    "edit_contact",
    "get_channel",
    "get_conversation",
    "hand_off",
    "hash_token",
    "ingest_inbound",
    "list_canned_replies",
    "list_channels",
    "list_close_reasons",
    "list_conversations",
    "list_messages",
    "list_operators",
    "login",
    "logout",
    "mark_read",
    "merge_contacts",
    "parse_tags",
    "receive_webhook",
    "record_delivery",
    "record_status",
    "render_canned_reply",
    "reopen",
    "resolve_conversation",
    "run",
    "send_automatic_reply",
    "send_reply",
    "set_channel_enabled",
    "set_close_reasons",
    "set_contact_tags",
    "set_presence",
    "store_batch",
    "touch_operators",
    "update_canned_reply",
    "update_operator",
    "write_automatic_note",
    "write_automatic_reply",
    "write_bot_resolve",
    "write_hand_off",
    "write_note",
    "write_system_message",
]
