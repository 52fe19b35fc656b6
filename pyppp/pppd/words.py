r"""pppd's word syntax (``getword`` in options.c), shared by options files and secrets files.

Whitespace separates words; a ``#`` outside quotes starts a comment that runs to the end of
the line, wherever it stands: between words, or inside one, which it then ends (``abc#1`` is
the word ``abc``, as in pppd); single or double quotes make one word of anything up to the
matching quote (newlines and ``#`` included); a backslash escapes the next character (``\#``
is a ``#`` in the word): ``\a \b \f \n \r \s \t``, up to three

octal digits, ``\x`` with up to two hex digits, a backslash-newline is skipped, and any other
character stands for itself. Callers decide what to do with odd words (a quote left open, an
overlong word): options files refuse them (:func:`parse_words`, :func:`command_line_words`:
each option word with where it came from), :mod:`pyppp.pppd.secrets` warns as pppd does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, NamedTuple

from pyppp.errors import ConfigError

__all__ = [
    "COMMAND_LINE",
    "MAX_WORD_LEN",
    "RawWord",
    "Word",
    "command_line_words",
    "getwords",
    "parse_words",
]

COMMAND_LINE: Final = "command line"
"""The source pppd names for options given as program arguments."""

MAX_WORD_LEN: Final = 1023
"""pppd's ``MAXWORDLEN`` (1024) less the terminating NUL."""

_SPACE: Final = frozenset(" \t\n\v\f\r")  # C isspace() in the C locale; str.isspace is wider
_OCTAL: Final = frozenset("01234567")
_HEX: Final = frozenset("0123456789abcdefABCDEF")
_SIMPLE_ESCAPES: Final[dict[str, str]] = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "s": " ",
    "t": "\t",
}


@dataclass(frozen=True, slots=True)
class RawWord:
    """One word as pppd's ``getword`` reads it.

    Attributes:
        text: the word after quote and escape processing.
        line: 1-based line on which the word starts.
        starts_line: a newline came before the word (pppd's ``newline`` flag); the first word
            of the text also counts as starting a line.
        unterminated: the quote character if the word ran to the end of the text inside
            quotes, else ``""``.
    """

    text: str
    line: int
    starts_line: bool
    unterminated: str = ""


def getwords(text: str) -> list[RawWord]:
    """Split ``text`` into words with pppd's rules. Never raises on any input."""
    words: list[RawWord] = []
    n = len(text)
    i = 0
    line = 1
    first = True
    while True:
        # Skip whitespace, comments and backslash-newlines before a word.
        newline = False
        escape = False
        comment = False
        while i < n:
            c = text[i]
            if c == "\n":
                line += 1
                i += 1
                if escape:
                    escape = False
                else:
                    newline = True
                    comment = False
                continue
            if comment:
                i += 1
                continue
            if escape:
                break  # an escaped character starts a word
            if c == "\\":
                escape = True
                i += 1
                continue
            if c == "#":
                comment = True
                i += 1
                continue
            if c not in _SPACE:
                break
            i += 1
        if i >= n:
            return words
        start_line = line
        chars: list[str] = []
        quoted = ""
        while i < n:
            c = text[i]
            if escape:
                escape = False
                if c == "\n":
                    line += 1
                    i += 1
                    continue
                if c in _SIMPLE_ESCAPES:
                    chars.append(_SIMPLE_ESCAPES[c])
                    i += 1
                elif c in _OCTAL:
                    value = 0
                    digits = 0
                    while digits < 3 and i < n and text[i] in _OCTAL:
                        value = value * 8 + int(text[i])
                        i += 1
                        digits += 1
                    chars.append(chr(value & 0xFF))  # pppd stores it in a char
                elif c == "x":
                    i += 1
                    value = 0
                    digits = 0
                    while digits < 2 and i < n and text[i] in _HEX:
                        value = value * 16 + int(text[i], 16)
                        i += 1
                        digits += 1
                    chars.append(chr(value))
                else:
                    chars.append(c)
                    i += 1
                continue
            if c == "\\":
                escape = True
                i += 1
                continue
            if quoted:
                if c == quoted:
                    quoted = ""
                    i += 1
                    continue
            elif c in "\"'":
                quoted = c
                i += 1
                continue
            elif c in _SPACE or c == "#":
                break
            if c == "\n":
                line += 1
            chars.append(c)
            i += 1
        words.append(RawWord("".join(chars), start_line, newline or first, quoted))
        first = False


class Word(NamedTuple):
    """One option word and where it came from.

    Attributes:
        text: the word after quote and escape processing.
        source: ``"path:line"`` for a file (the line the word starts on), or
            ``"command line"``.
    """

    text: str
    source: str


def parse_words(text: str, source: str) -> list[Word]:
    """Split options-file text into words as pppd's ``getword`` does.

    Args:
        text: the file's contents. Characters decoded with ``surrogateescape`` (undecodable
            bytes) are allowed in comments but not in words.
        source: the file name to record in each word's source (``"path:line"``).

    Returns:
        The words in order.

    Raises:
        ConfigError: a quote still open at the end of the text, a word longer than 1023
            characters, a NUL character in a word, or undecodable bytes in a word.
    """
    words: list[Word] = []
    for raw in getwords(text):
        where = f"{source}:{raw.line}"
        if raw.unterminated:
            raise ConfigError(
                f"quoted word runs to end of file ({_preview(raw.text)}): "
                f"missing closing {raw.unterminated}",
                source=where,
            )
        _check_word(raw.text, where)
        words.append(Word(raw.text, where))
    return words


def _check_word(word: str, where: str) -> None:
    if len(word) > MAX_WORD_LEN:
        raise ConfigError(
            f"word too long ({_preview(word)}): pppd words are at most {MAX_WORD_LEN} characters",
            source=where,
        )
    if "\0" in word:
        raise ConfigError(f"NUL character in word ({_preview(word)})", source=where)
    if any("\udc80" <= ch <= "\udcff" for ch in word):
        raise ConfigError(
            f"word is not valid UTF-8 text ({_preview(word)}): is this an options file?",
            source=where,
        )


def _preview(word: str) -> str:
    shown = word if len(word) <= 20 else word[:20] + "..."
    if shown.isprintable():
        return shown
    # Show undecodable bytes as the bytes they were, control characters as escapes.
    return repr(shown.encode("utf-8", "surrogateescape"))[2:-1]


def command_line_words(argv: Iterable[str]) -> list[Word]:
    """Wrap program arguments as words whose source is ``"command line"`` (as pppd says)."""
    words = [Word(arg, COMMAND_LINE) for arg in argv]
    for word in words:
        _check_word(word.text, COMMAND_LINE)
    return words
