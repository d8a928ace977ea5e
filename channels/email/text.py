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
# ruff: noqa: RUF001, RUF002

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import Final

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
_CYRILLIC_LOWER: Final = frozenset("абвгдеёжзийклмнопрстуфхцчшщъыьэюя")


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Text from bytes whose label may be missing, unknown or wrong; never raises.

    Order: valid UTF-8 with non-ASCII bytes wins over any label (a UTF-8 body mislabelled
    as windows-1251 is common and valid UTF-8 by accident is not); then the declared
    charset if Python knows it and it decodes cleanly; then windows-1251 or KOI8-R,
    whichever yields more lower-case Cyrillic (Russian prose is mostly lower case and the
    two encodings swap the cases); finally latin-1, which decodes anything.
    """
    if not data.isascii():
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    if charset:
        try:
            return data.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass
    if data.isascii():
        return data.decode("ascii")
    candidates = []
    for name in ("cp1251", "koi8_r"):
        try:
            text = data.decode(name)
        except UnicodeDecodeError:
            continue
        candidates.append((sum(c in _CYRILLIC_LOWER for c in text), text))
    if candidates:
        return max(candidates, key=lambda c: c[0])[1]
    return data.decode("latin-1")


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
