# ruff: noqa: RUF001, RUF002, RUF003
"""Full-text search over messages and contacts, per dialect (docs/search.md).

The core only says ``ConversationFilter(query=...)``; this module turns it into SQL.

PostgreSQL: ``message_search.document`` is a ``tsvector`` (the message's plain text under
the ``russian`` and ``english`` configurations), with a GIN index; contacts are matched by
a GIN expression index over the same vector of their name, phone and e-mail, so it is in
step with every write to ``contacts`` whoever makes it. A query is
``plainto_tsquery('russian', q) || plainto_tsquery('english', q)``.

SQLite: FTS5 has no Russian stemmer, so ``message_search.document`` holds the message's
words already stemmed here, in Python (Snowball: Cyrillic words as Russian, Latin ones as
English, the rule of ``bots.faq.stems``), and the FTS5 table ``message_fts`` indexes that
column (external content, kept in step by a trigger that only copies). A query is stemmed
the same way and every stem must match. Contacts: ``contact_fts`` holds their name, phone
and e-mail as written (triggers on ``contacts``), and a query's stems match as prefixes
("Анны" → ``анн*`` finds "Анна").
"""

from __future__ import annotations

import re
import threading
import unicodedata
from typing import Any

import snowballstemmer
from sqlalchemy import ColumnElement, bindparam, column, false, func, text
from sqlalchemy.sql.elements import BindParameter

__all__ = [
    "SQLITE_SEARCH_TABLES",
    "matches",
    "pg_document",
    "sqlite_document",
    "stems",
]

#: The FTS5 tables the SQLite migration creates (and their shadow tables start with these
#: names): not in :mod:`storage.tables`, which describes the dialect-neutral schema.
SQLITE_SEARCH_TABLES = ("message_fts", "contact_fts")

#: A message's indexed text is cut here: a pasted log does not bloat the index.
MAX_DOCUMENT_CHARS = 20_000
#: A query's words past this many are ignored.
MAX_QUERY_WORDS = 16

_WORD = re.compile(r"[^\W_]+")
_CYRILLIC = re.compile(r"[\u0400-\u052f]")
_LATIN = re.compile(r"[a-z\u00c0-\u024f]")

# Snowball stemmer objects keep state between calls and are not thread-safe (the SQLite
# store runs statements on worker threads): one set per thread.
_local = threading.local()


def _stem(word: str, algorithm: str) -> str:
    cache: dict[str, Any] | None = getattr(_local, "stemmers", None)
    if cache is None:
        cache = {}
        _local.stemmers = cache
    stemmer = cache.get(algorithm)
    if stemmer is None:
        stemmer = snowballstemmer.stemmer(algorithm)
        cache[algorithm] = stemmer
    return str(stemmer.stemWord(word))


#: Stems already computed, by word: a shop's words repeat, and a pure-Python Snowball
#: stem costs tens of microseconds -- most of what indexing a message took on the ingest
#: path before this cache. Bounded: cleared when full (a dict is safe across threads for
#: single get/set under the GIL; a lost entry is only recomputed).
_STEM_CACHE: dict[str, str] = {}
_STEM_CACHE_MAX = 100_000


def _stem_word(word: str) -> str:
    found = _STEM_CACHE.get(word)
    if found is not None:
        return found
    if _CYRILLIC.search(word) is not None:  # "iPhoneа" too: Russian endings
        stem = _stem(word, "russian")
    elif _LATIN.search(word) is not None:
        stem = _stem(word, "english")
    else:
        stem = word  # digits, other scripts: as they are
    if len(_STEM_CACHE) >= _STEM_CACHE_MAX:
        _STEM_CACHE.clear()
    _STEM_CACHE[word] = stem
    return stem


def stems(text_: str) -> list[str]:
    """The stems of ``text_``'s words, in order: NFC, casefolded, ё → е, words are runs of
    letters and digits; Cyrillic words stemmed as Russian, Latin ones as English."""
    folded = unicodedata.normalize("NFC", text_).casefold().replace("ё", "е")
    return [_stem_word(word) for word in _WORD.findall(folded)]


def sqlite_document(plain: str) -> str:
    """What SQLite stores for a message: its stems, space-separated."""
    return " ".join(stems(plain[:MAX_DOCUMENT_CHARS]))


def pg_document(plain: BindParameter[str]) -> ColumnElement[Any]:
    """The ``tsvector`` PostgreSQL stores for a message's plain text."""
    return func.to_tsvector("russian", plain).op("||")(func.to_tsvector("english", plain))


#: The contacts' vector on PostgreSQL: the migration's GIN expression index is on exactly
#: this expression, and ``_PG_MATCHES`` repeats it (with the table's alias), so it is used.
PG_CONTACT_VECTOR = (
    "(to_tsvector('russian', display_name || ' ' || phone || ' ' || email)"
    " || to_tsvector('english', display_name || ' ' || phone || ' ' || email))"
)


# One IN over a UNION ALL rather than two INs joined by OR: the planner then drives the
# list from the (few) matches through the indexes instead of walking the whole list in
# order and testing each row (docs/search.md, bench/bench_search.py).
_PG_MATCHES = text(
    "SELECT conversation_id FROM message_search WHERE document @@"
    " (plainto_tsquery('russian', :q) || plainto_tsquery('english', :q))"
    " UNION ALL SELECT cv.id FROM conversations AS cv JOIN contacts AS ct"
    " ON ct.id = cv.contact_id WHERE"
    " (to_tsvector('russian', ct.display_name || ' ' || ct.phone || ' ' || ct.email)"
    " || to_tsvector('english', ct.display_name || ' ' || ct.phone || ' ' || ct.email))"
    " @@ (plainto_tsquery('russian', :q) || plainto_tsquery('english', :q))"
)
_SQLITE_MATCHES = text(
    "SELECT message_search.conversation_id FROM message_fts"
    " JOIN message_search ON message_search.id = message_fts.rowid"
    " WHERE message_fts MATCH :mq"
    " UNION ALL SELECT cv.id FROM contact_fts JOIN conversations AS cv"
    " ON cv.contact_id = contact_fts.contact_id WHERE contact_fts MATCH :cq"
)


def _fts_phrase(stem: str) -> str:
    return '"' + stem.replace('"', '""') + '"'


def matches(dialect: str, query: str, conversation_id: ColumnElement[Any]) -> ColumnElement[bool]:
    """The conversations that ``query`` finds: a message of theirs has all its words, or
    their contact's name, phone or e-mail does. A query without words finds nothing."""
    query = query[:1000]
    if dialect == "postgresql":
        return conversation_id.in_(
            _PG_MATCHES.bindparams(bindparam("q", query)).columns(column("conversation_id"))
        )
    words = list(dict.fromkeys(stems(query)))[:MAX_QUERY_WORDS]
    if not words:
        return false()
    message_match = " ".join(_fts_phrase(w) for w in words)
    contact_match = " ".join(_fts_phrase(w) + "*" for w in words)
    return conversation_id.in_(
        _SQLITE_MATCHES.bindparams(
            bindparam("mq", message_match),
            bindparam("cq", "{display_name phone email}: (" + contact_match + ")"),
        ).columns(column("conversation_id"))
    )
