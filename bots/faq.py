"""The FAQ matcher: which flow entry answers a customer's message, by word stems.

Words are stemmed with Snowball (snowballstemmer), Russian for Cyrillic words and English
for Latin ones whatever the flow's language, because customers mix them ("где мой iPhone",
"operator pls"). A keyword or phrase matches when each of its stems occurs in the
message, in the keyword's order (not necessarily adjacent): "когда привезут" matches
"а когда мне его привезут?".

Snowball is a suffix stripper and now and then leaves two forms of one word apart
(English "delivery" → ``deliveri``, "delivered" → ``deliv``), so two stems also match
when the shorter one is at least :data:`MIN_PREFIX_STEM` letters long and is the start of
the longer one, at most :data:`MAX_PREFIX_EXTRA` letters shorter. Five letters keep
``oper`` (operator) from matching ``opera``; three extra letters are what the "y → i"
and "-er" steps can leave.
"""

# Russian words and ё/е folding are the point of this module (RUF001/RUF002/RUF003).
# ruff: noqa: RUF001, RUF002, RUF003

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Sequence
from typing import Any

import snowballstemmer

from bots.flow import FaqEntry

__all__ = ["MAX_PREFIX_EXTRA", "MAX_WORDS", "MIN_PREFIX_STEM", "FaqMatcher", "mentions", "stems"]

MIN_PREFIX_STEM = 5
MAX_PREFIX_EXTRA = 3
#: Only the first words of a message are matched: a question is short, and this bounds
#: the work on a 64 KiB paste (100 entries x 50 keywords each).
MAX_WORDS = 300

_WORD = re.compile(r"[^\W_]+")
_CYRILLIC = re.compile(r"[\u0400-\u052f]")
_LATIN = re.compile(r"[a-z\u00c0-\u024f]")
_ALGORITHMS = {"ru": "russian", "en": "english"}

# Snowball stemmer objects keep state between calls and are not thread-safe: one set per
# thread.
_local = threading.local()


def _stem(word: str, algorithm: str) -> str:
    """Typed wrapper over ``snowballstemmer``: ``word`` stemmed by ``algorithm``."""
    cache: dict[str, Any] | None = getattr(_local, "stemmers", None)
    if cache is None:
        cache = {}
        _local.stemmers = cache
    stemmer = cache.get(algorithm)
    if stemmer is None:
        stemmer = snowballstemmer.stemmer(algorithm)
        cache[algorithm] = stemmer
    return str(stemmer.stemWord(word))


def _stem_word(word: str, language: str) -> str:
    cyrillic = _CYRILLIC.search(word) is not None
    latin = _LATIN.search(word) is not None
    if cyrillic and latin:  # "iPhoneа": the flow's language decides
        algorithm = _ALGORITHMS.get(language)
    elif cyrillic:
        algorithm = "russian"
    elif latin:
        algorithm = "english"
    else:  # digits, other scripts: as they are
        algorithm = None
    return _stem(word, algorithm) if algorithm else word


def stems(text: str, language: str) -> tuple[str, ...]:
    """The stems of ``text``'s words, in order: NFC, casefolded, ё → е, words are runs of
    letters and digits (``_`` and punctuation split them); Cyrillic words stemmed as
    Russian, Latin ones as English, words with both by ``language`` (``ru``/``en``),
    anything else kept as it is."""
    folded = unicodedata.normalize("NFC", text).casefold().replace("ё", "е")
    return tuple(_stem_word(word, language) for word in _WORD.findall(folded))


def _same(keyword: str, word: str) -> bool:
    if keyword == word:
        return True
    short, long = (keyword, word) if len(keyword) <= len(word) else (word, keyword)
    return (
        len(short) >= MIN_PREFIX_STEM
        and len(long) - len(short) <= MAX_PREFIX_EXTRA
        and short.isalpha()
        and long.startswith(short)
    )


class _Message:
    """A message's stems, indexed so that a keyword stem is looked up, not scanned for."""

    __slots__ = ("_prefixes", "_set", "words")

    def __init__(self, text: str, language: str) -> None:
        self.words = stems(text, language)[:MAX_WORDS]
        self._set = frozenset(self.words)
        # Every start of a word that a keyword stem may be under the prefix rule.
        self._prefixes = frozenset(
            word[:-cut]
            for word in self._set
            if word.isalpha()
            for cut in range(1, MAX_PREFIX_EXTRA + 1)
            if len(word) - cut >= MIN_PREFIX_STEM
        )

    def _has(self, stem: str) -> bool:
        """``_same(stem, word)`` for some word, without a scan."""
        if stem in self._set or stem in self._prefixes:
            return True
        return stem.isalpha() and any(
            stem[:-cut] in self._set
            for cut in range(1, MAX_PREFIX_EXTRA + 1)
            if len(stem) - cut >= MIN_PREFIX_STEM
        )

    def contains(self, keyword: tuple[str, ...]) -> bool:
        """Each stem of ``keyword`` occurs, in order (gaps allowed)."""
        if not keyword or not all(self._has(stem) for stem in keyword):
            return False
        if len(keyword) == 1:
            return True
        # Greedy leftmost matching is enough for "is a subsequence".
        position = 0
        for stem in keyword:
            while position < len(self.words) and not _same(stem, self.words[position]):
                position += 1
            if position == len(self.words):
                return False
            position += 1
        return True


class FaqMatcher:
    """Finds the FAQ entry that answers a message. Build one per flow (it stems every
    keyword once) and share it: :meth:`match` keeps no state."""

    def __init__(self, entries: Sequence[FaqEntry], language: str) -> None:
        self._language = language
        self._entries: tuple[tuple[FaqEntry, tuple[tuple[tuple[str, ...], int], ...]], ...]
        self._entries = tuple(
            (
                entry,
                tuple(
                    (keyword_stems, len(keyword.strip()))
                    for keyword in entry.keywords
                    if (keyword_stems := stems(keyword, language))
                ),
            )
            for entry in entries
        )

    def match(self, text: str) -> FaqEntry | None:
        """The entry with the most matching keywords, then with the longest matching
        keyword (in characters); on a tie the earlier entry. ``None`` when no keyword
        matches. Never raises on any text."""
        message = _Message(text, self._language)
        if not message.words:
            return None
        best: FaqEntry | None = None
        best_score = (0, 0)
        for entry, keywords in self._entries:
            count = longest = 0
            for keyword_stems, length in keywords:
                if message.contains(keyword_stems):
                    count += 1
                    longest = max(longest, length)
            if (count, longest) > best_score:
                best, best_score = entry, (count, longest)
        return best


def mentions(text: str, phrases: Sequence[str], language: str) -> bool:
    """Whether ``text`` contains one of ``phrases`` by the matcher's rule (the hand-off
    words: "позовите оператора" mentions "оператор", "real person please" "real person")."""
    message = _Message(text, language)
    return any(message.contains(stems(phrase, language)) for phrase in phrases)
