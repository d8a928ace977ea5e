"""Mail text: decoding bodies with a safe charset fallback, HTML to plain text, and
cutting the quoted earlier mail off a reply.

Quote headers recognised (channel-contracts.md §4.3), English and Russian:

* Gmail: ``On Mon, Jan 13, 2025 at 10:00 AM Shop <a@b> wrote:`` /
  ``пн, 13 янв. 2025 г. в 10:00, Магазин <a@b>:``
* Apple Mail: ``On 13 Jan 2025, at 10:00, Shop <a@b> wrote:`` /
  ``13 янв. 2025 г., в 10:00, Магазин <a@b> написал(а):``
* Thunderbird: ``On 1/13/25 10:00 AM, Shop wrote:`` / ``13.01.2025 10:00, Магазин пишет:``
* Outlook: ``-----Original Message-----`` / ``-----Исходное сообщение-----``, or a
  ``From:``/``От:`` line followed by ``Sent:``/``Отправлено:``/``Date:``/``Дата:``
* Yandex: ``13.01.2025, 10:00, "Магазин" <a@b>:``
* Mail.ru: ``Понедельник, 13 января 2025, 10:00 +03:00 от Магазин <a@b>:``
* any line starting with ``>``, and the signature delimiter ``-- ``.

HTML: ``div.gmail_quote``, ``blockquote`` (Apple/Thunderbird ``type=cite``, Yandex,
Mail.ru), Outlook's ``#divRplyFwdMsg``/``#appendonsend`` and everything after them are
dropped before the text is extracted.
"""

# Russian quote headers and prefixes are the point of this module (RUF001-003):
# ruff: noqa: RUF001, RUF002, RUF003

from __future__ import annotations

import codecs
import html
import math
import re
import string
from html.parser import HTMLParser
from typing import Final

import charset_normalizer

__all__ = ["decode_bytes", "html_to_text", "strip_quote"]

_WROTE: Final = re.compile(
    r"(wrote|написал\(?а?\)?|пишет)\s*:\s*$|"  # Gmail/Apple/Thunderbird en+ru
    r"^\s*(on\s.+|.*\d{4}\s*г\.?,?\s*в\s*\d{1,2}:\d{2}.*|"  # "On ...", Gmail-ru date
    r"\d{1,2}\.\d{1,2}\.\d{2,4},?\s+\d{1,2}:\d{2}.*|"  # Yandex / Thunderbird-ru
    r".*\d{4},?\s+\d{1,2}:\d{2}.*\sот\s.*)<[^>]+@[^>]+>\s*\)?:\s*$",  # Mail.ru
    re.IGNORECASE,
)
_SEPARATOR: Final = re.compile(
    r"^\s*-{2,}\s*(original message|исходное сообщение|пересылаемое сообщение|"
    r"forwarded message)\s*-{2,}\s*$|^\s*_{10,}\s*$",
    re.IGNORECASE,
)
_FROM: Final = re.compile(r"^\s*\*?(from|от|de|von)\*?\s*:\s*\S", re.IGNORECASE)
_SENT: Final = re.compile(
    r"^\s*\*?(sent|date|отправлено|дата|to|кому|subject|тема)\*?\s*:\s*", re.IGNORECASE
)
_SIGNATURE: Final = "-- "


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Text from bytes whose label may be missing, unknown or wrong; never raises, never
    drops the text.

    Valid UTF-8 with non-ASCII bytes wins over any label (a UTF-8 body mislabelled as
    windows-1251 is common, and valid UTF-8 by accident is not); plain ASCII is ASCII.
    Otherwise every candidate that decodes the bytes -- the declared charset, the
    detector's guesses (``charset-normalizer``) and the Russian encodings of unlabelled
    mail (windows-1251, KOI8-R) -- is scored on how much its text looks like
    writing (:func:`_plausibility`). The declared charset wins unless another reading
    is clearly better (by more than 5 % of the text, and 3 points); else the best.
    Latin-1, which decodes anything, is the last resort. Why not the detector alone: on
    Russian it guessed Mac Cyrillic for windows-1251 prose and a Japanese code page for
    a KOI8-R subject (docs/channels/email.md).
    """
    if not data.isascii():
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    elif charset is None or _codec(charset) is None:
        return data.decode("ascii")
    declared = _codec(charset) if charset else None
    guessed, names = _candidates(data, declared)
    scored: list[tuple[float, str, str]] = []
    for name in names:
        try:
            text = data.decode(name)
        except (LookupError, UnicodeDecodeError):
            continue
        bonus = 0.02 * len(text) if name == guessed else 0.0  # the detector breaks ties
        scored.append((_plausibility(text) + bonus, name, text))
    if not scored:
        return data.decode("latin-1")
    best_score, _name, best_text = max(scored, key=lambda c: c[0])
    for score, name, text in scored:
        # The label wins unless another reading is clearly better: a short text cannot
        # show that (one rare letter), a long one wrongly labelled does.
        if name == declared and best_score - score <= max(3.0, 0.05 * len(text)):
            return text
    return best_text


#: The Russian encodings that unlabelled mail arrives in (Outlook and The Bat! on old
#: Windows, KOI8-R from Unix mailers). IBM866, ISO-8859-5 and Mac Cyrillic are decoded
#: when labelled or guessed by the detector; tried always, they won short texts wrongly.
_RUSSIAN: Final = ("cp1251", "koi8_r")
_PUNCTUATION: Final = frozenset(string.punctuation) | frozenset("«»—–…№“”„‘’•·©®°±€\u00a0\t")


def _codec(name: str) -> str | None:
    """Python's canonical codec name for a charset label, ``None`` if it is unknown."""
    try:
        return codecs.lookup(name.strip().strip('"')).name
    except (LookupError, ValueError):
        return None


def _candidates(data: bytes, declared: str | None) -> tuple[str | None, list[str]]:
    """The detector's first guess, and every charset worth trying."""
    names: list[str] = [declared] if declared else []
    guessed: str | None = None
    try:
        guesses = list(charset_normalizer.from_bytes(data[:_SAMPLE]))[:5]
    except Exception:  # the detector is advice; the Russian set still decodes
        guesses = []
    if guesses:
        guessed = _codec(guesses[0].encoding)
        names.extend(match.encoding for match in guesses)
    names.extend(_RUSSIAN)
    seen: set[str] = set()
    ordered: list[str] = []
    for name in names:
        codec = _codec(name)
        if codec is not None and codec not in seen:
            seen.add(codec)
            ordered.append(codec)
    return guessed, ordered


#: Serbian and Macedonian letters: rare in the mail this inbox gets, and what a wrong
#: Cyrillic code page turns capitals into.
_RARE_CYRILLIC: Final = frozenset("ђѓљњќћџЂЃЉЊЌЋЏѕЅ")
#: Bytes the detector looks at: enough to tell the encodings of a mail apart.
_SAMPLE: Final = 16_384


def _plausibility(text: str) -> float:
    """How much ``text`` looks like writing. A Latin letter counts 1 (0.6 with an
    accent), a Russian one by how
    common it is in Russian text (a wrong Cyrillic code page turns common letters into
    rare ones, whatever their case), a letter of another script 0.5 (this inbox's mail is
    Russian or Latin unless its label says otherwise); symbols that writing
    rarely has, Serbian letters (what windows-1251 makes of Mac Cyrillic's capitals),
    words that mix Latin and Cyrillic letters, and a capital right after a small letter
    inside a word (KOI8-R and windows-1251 swap the cases of each other's letters) count
    against."""
    score = 0.0
    for word in text.split():
        latin = cyrillic = previous_lower = False
        for ch in word:
            if not ch.isalpha():
                if not (ch.isdigit() or ch in _PUNCTUATION):
                    score -= 2.0
                previous_lower = False
                continue
            lower = ch.islower()
            if not lower and previous_lower:
                score -= 2.0  # "цДЕ"
            previous_lower = lower
            if ch in _RARE_CYRILLIC:
                score -= 3.0
            elif "\u0400" <= ch <= "\u04ff":
                cyrillic = True
                score += _RUSSIAN_WEIGHT.get(ch.lower(), 0.5)
            elif ch < "\u0250":
                latin = True
                # Accented letters are the spice of Latin writing, not the words: eight
                # bits read as a Central European code page are all accents.
                score += 1.0 if ch < "\u0080" else 0.6
            else:
                score += 0.5  # another script: unlikely in this inbox's mail unless labelled
        if latin and cyrillic:
            score -= 4.0
    return score


#: Letter frequencies of Russian text in per cent (the common published table), as
#: log10(per cent) + 0.34, so that Russian prose averages 1 per letter like any other
#: script, its common letters more, its rare ones less than nothing.
_RUSSIAN_WEIGHT: Final = {
    letter: 0.34 + math.log10(percent)
    for letter, percent in {
        "о": 10.97,
        "е": 8.45,
        "а": 8.01,
        "и": 7.35,
        "н": 6.70,
        "т": 6.26,
        "с": 5.47,
        "р": 4.73,
        "в": 4.54,
        "л": 4.40,
        "к": 3.49,
        "м": 3.21,
        "д": 2.98,
        "п": 2.81,
        "у": 2.62,
        "я": 2.01,
        "ы": 1.90,
        "ь": 1.74,
        "г": 1.70,
        "з": 1.65,
        "б": 1.59,
        "ч": 1.44,
        "й": 1.21,
        "х": 0.97,
        "ж": 0.94,
        "ш": 0.73,
        "ю": 0.64,
        "ц": 0.48,
        "щ": 0.36,
        "э": 0.32,
        "ф": 0.26,
        "ъ": 0.04,
        # Counted as е: most writers type е for it, which is why tables find it rare.
        "ё": 8.45,
    }.items()
}


def strip_quote(text: str) -> str:
    """The new text of a reply: everything before the first quote header, quoted line or
    signature delimiter, with trailing blank lines removed. Returns ``text`` itself when
    nothing is left (a mail that is only a quote still shows something)."""
    lines = text.splitlines()
    cut = len(lines)
    for i, line in enumerate(lines):
        joined = line + " " + lines[i + 1].strip() if i + 1 < len(lines) else line
        if line.startswith(">"):
            cut = i
            # The attribution line usually sits right above the quote ("On … wrote:").
            if i > 0 and lines[i - 1].strip().endswith(":"):
                cut = i - 1
            break
        if line == _SIGNATURE or line.rstrip() == "--" or _SEPARATOR.match(line):
            cut = i
            break
        if _WROTE.search(line) or (
            i + 1 < len(lines) and line.strip() and _WROTE.search(joined) and "@" in joined
        ):
            cut = i
            break
        if _FROM.match(line) and any(_SENT.match(nxt) for nxt in lines[i + 1 : i + 4]):
            cut = i
            break
    new = "\n".join(lines[:cut]).rstrip()
    return new if new.strip() else text.strip()


class _HtmlText(HTMLParser):
    """Collects visible text; block elements become line breaks; quoted parts of replies
    (see module docstring) and scripts/styles are skipped."""

    _BLOCK = frozenset(
        {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol"}
    )
    _SKIP = frozenset({"script", "style", "head", "title"})
    _VOID = frozenset({"br", "img", "hr", "meta", "link", "input", "col", "area", "base", "wbr"})

    def __init__(self, strip_quotes: bool) -> None:
        super().__init__(convert_charrefs=True)
        self._strip_quotes = strip_quotes
        self._out: list[str] = []
        self._stack: list[str] = []
        self._skip_depth = 0  # >0 while inside a skipped element
        self._stopped = False  # Outlook's reply marker: everything after it is the quote

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._stopped:
            return
        values = {k: (v or "") for k, v in attrs}
        if self._strip_quotes and values.get("id") in ("divRplyFwdMsg", "appendonsend"):
            self._stopped = True
            return
        if tag in self._VOID:
            if tag == "br" and not self._skip_depth:
                self._out.append("\n")
            return
        self._stack.append(tag)
        quoted = self._strip_quotes and (
            tag == "blockquote"
            or "gmail_quote" in values.get("class", "")
            or "moz-cite-prefix" in values.get("class", "")
        )
        if self._skip_depth or tag in self._SKIP or quoted:
            self._skip_depth += 1
        elif tag in self._BLOCK:
            self._out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self._stopped or tag in self._VOID or tag not in self._stack:
            return
        while self._stack:
            open_tag = self._stack.pop()
            if self._skip_depth:
                self._skip_depth -= 1
            if open_tag == tag:
                break
        if not self._skip_depth and tag in self._BLOCK:
            self._out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._stopped and not self._skip_depth:
            self._out.append(data)

    def text(self) -> str:
        raw = "".join(self._out).replace("\xa0", " ")
        lines = [" ".join(line.split()) for line in raw.splitlines()]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def html_to_text(markup: str, *, strip_quotes: bool = True) -> str:
    """Plain text from HTML: tags dropped, entities decoded, no script or style content,
    never markup; quoted replies dropped when ``strip_quotes``."""
    parser = _HtmlText(strip_quotes)
    try:
        parser.feed(markup)
        parser.close()
    except (AssertionError, ValueError):  # pragma: no cover - HTMLParser is lenient
        return html.unescape(re.sub(r"<[^>]*>", " ", markup)).strip()
    return parser.text()
