"""pppd's options reader on hostile options files and command-line words.

Target ``pppd.options``: one input makes the texts of ``/etc/ppp/options``, ``~/.ppprc``, a
peers file, ``options.ttyS0`` and a file for ``file``/``+ua`` to name, the command line's
words and device, whether the user is privileged and in the ``privgroup``; unnamed files do
not exist, one is unreadable. :func:`pyppp.pppd.options.load_options` reads them as pppd does
(the system file, ``~/.ppprc``, the command line, then ``options.<tty>``; ``file`` and
``call`` nest).

Oracles:

* the reader returns options or raises :class:`~pyppp.errors.ConfigError` (its subclasses
  included): nothing else escapes (no ValueError, OverflowError, UnicodeError,
  IndexError, RecursionError);
* it asks for at most :data:`~pyppp.pppd.options.MAX_FILE_SIZE` + 1 octets of a file;
* read options pass :func:`~pyppp.pppd.options.check_options` or fail it with a
  ConfigError, and ``dump`` prints them as an options file that reads back the same
  (issue P.7), the password (masked) aside.
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
from pathlib import Path

from pyppp.errors import ConfigError
from pyppp.pppd.dump import dump, quote_word
from pyppp.pppd.options import (
    MAX_FILE_SIZE,
    FileReader,
    PppOptions,
    check_options,
    load_options,
    options_from_words,
)
from pyppp.pppd.optiontable import OPTION_WORDS, Kind, OptionSpec
from pyppp.pppd.words import parse_words
from tests.fuzz.harness import FuzzTarget, Input

_CONFIG = Path("/etc/ppp")
_HOME = Path("/home/user")
_EXTRA = Path("/tmp/extra")
_FILES = (
    _CONFIG / "options",
    _HOME / ".ppprc",
    _CONFIG / "peers" / "isp",
    _CONFIG / "options.ttyS0",
    _EXTRA,
)
_UNREADABLE = _CONFIG / "peers" / "locked"
# Not compared after the read-back: where each value came from, and the masked password.
_IGNORED = frozenset({"sources", "warnings", "password"})

_VALUES = (
    "", " ", "0", "1", "-1", "3", "1500", "65535", "99999999999999999999", "0x10", "ff",
    "10.0.0.1", "10.0.0.1:10.0.0.2", ":10.0.0.2", ":", "255.255.255.0", "::1,::2", ",::2",
    "a,b", "15,12", "9", "A=1", "A", "#", "\\", '"', "'", "x y", "caf\u00e9", "\udcff",
    "ttyS0", "/dev/ttyS0", "socket://h:1", "115200", "isp", "locked", "missing",
    str(_EXTRA), "/dev/null", "../isp", "*", "10.0.0.0/24", "555*", "Class=a",
)  # fmt: skip
# Arguments that suit each kind of option (and a few that do not), so that most words read.
_ARGUMENTS: dict[Kind, tuple[str, ...]] = {
    Kind.INT: ("0", "1", "3", "30", "1500", "-1", "0x10", "010", "4294967296"),
    Kind.HEX: ("0", "ff", "a0000", "ffffffff", "0x20", "1g"),
    Kind.ESCAPE: ("11", "11,13", "7d,7e,ff", "zz"),
    Kind.ADDRESS_LIST: ("10.0.0.1", "10.0.0.2", "1.2.3", "host"),
    Kind.NETMASK: ("255.255.255.0", "255.0.255.0", "0.0.0.0"),
    Kind.IDENTIFIERS: ("::1,::2", "::dead:beef,", ",::2", "::1", "x,y"),
    Kind.ENV_SET: ("A=1", "B=", "=x", "A"),
    Kind.ENV_UNSET: ("A", "B", ""),
    Kind.UA_FILE: (str(_EXTRA), "missing"),
    Kind.PRIVGROUP: ("wheel", "dip"),
    Kind.LISTEN: ("9100", "127.0.0.1:9100", "[::1]:1", "host:x"),
    Kind.FILE: (str(_EXTRA), "/etc/ppp/peers/isp", "/etc/ppp/peers/locked", "missing"),
    Kind.CALL: ("isp", "locked", "missing", "../isp", "isp/x"),
    Kind.DEFLATE: ("15", "15,12", "8", "9,9", "16", "12,0", "x"),
}
_SPECS = tuple(s for _, s in sorted(OPTION_WORDS.items()) if s.kind is not Kind.UNSUPPORTED)
_UNSUPPORTED = tuple(s for _, s in sorted(OPTION_WORDS.items()) if s.kind is Kind.UNSUPPORTED)
_RARELY = 15  # one in 16: a stray word, an unsupported option, a wrong argument, raw octets
_SEPARATORS = (" ", "\n", "\t", " # a comment\n", "\\\n")


def _option(source: Input) -> list[str]:
    """One option as pppd's words: a word of the table and the argument it takes (mostly)."""
    roll = source.uint() % 16
    if roll == _RARELY:  # a stray word: a value, a device, an address pair, noise
        word = source.pick(_VALUES)
        assert isinstance(word, str)
        return [word]
    spec = source.pick(_UNSUPPORTED if roll == _RARELY - 1 else _SPECS)
    assert isinstance(spec, OptionSpec)
    word = source.pick(spec.words)
    assert isinstance(word, str)
    kind = spec.arg_kind if spec.kind is Kind.NOOP_ARG else spec.kind
    if kind in (Kind.FLAG, Kind.COUNT, Kind.NOOP, Kind.UNSUPPORTED):
        return [word]
    if kind is Kind.CHOICE:
        choices: tuple[str, ...] = (*spec.choices, "none")
    else:
        choices = _ARGUMENTS.get(kind, _VALUES) if kind is not None else _VALUES
    argument = source.pick(_VALUES if source.uint() % 16 == _RARELY else choices)
    assert isinstance(argument, str)
    return [word, argument]


def _text(source: Input) -> str:
    """An options text: options with separators, quoted or not, or raw octets."""
    if source.uint() % 16 == _RARELY:
        return source.chunk(120).decode("utf-8", "surrogateescape")
    parts = []
    for _ in range(source.below(10)):
        for word in _option(source):
            parts.append(quote_word(word) if source.uint() % 2 else word)
            separator = source.pick(_SEPARATORS)
            assert isinstance(separator, str)
            parts.append(separator)
    return "".join(parts)


def _reader(files: dict[Path, bytes]) -> tuple[list[int], FileReader]:
    limits: list[int] = []

    def read(path: Path, limit: int) -> bytes:
        limits.append(limit)
        if path == _UNREADABLE:
            raise PermissionError(13, "Permission denied", str(path))
        try:
            return files[path][:limit]
        except KeyError:
            raise FileNotFoundError(2, "No such file or directory", str(path)) from None

    return limits, read


def _differences(a: PppOptions, b: PppOptions) -> dict[str, tuple[object, object]]:
    return {
        f.name: (getattr(a, f.name), getattr(b, f.name))
        for f in dataclasses.fields(PppOptions)
        if f.name not in _IGNORED and getattr(a, f.name) != getattr(b, f.name)
    }


def options(data: bytes) -> None:
    source = Input(data)
    flags = source.uint()
    files = {
        path: _text(source).encode("utf-8", "surrogateescape")
        for path in _FILES
        if source.uint() % 3 != 2
    }
    argv = []
    for _ in range(source.below(10)):
        raw = source.uint() % 16 == _RARELY
        argv += [source.chunk(16).decode("latin-1")] if raw else _option(source)
    device = source.pick((None, "ttyS0", "/dev/ttyS0", "socket://h:1", "/tmp/a b", ""))
    assert device is None or isinstance(device, str)
    limits, read = _reader(files)
    try:
        read_options = load_options(
            device,
            argv,
            read_file=read,
            config_dir=_CONFIG,
            home=None if flags & 1 else _HOME,
            privileged=flags & 6 != 6,  # mostly: many options are privileged
            in_group=lambda group: bool(flags & 8),
        )
    except ConfigError:
        return
    finally:
        assert all(limit <= MAX_FILE_SIZE + 1 for limit in limits), limits
    with contextlib.suppress(ConfigError):
        check_options(read_options)
    printed = "\n".join(dump(read_options)[1:])
    _, read_back = _reader(files)
    try:
        again = options_from_words(
            parse_words(printed, "dump"), config_dir=_CONFIG, privileged=True, read_file=read_back
        )
    except ConfigError as exc:
        raise AssertionError(f"dump does not read back ({exc}):\n{printed}") from exc
    assert _differences(read_options, again) == {}, printed


_RICH_SEEDS = (126, 407, 791, 1618)
TARGETS = [
    FuzzTarget(
        "pppd.options",
        options,
        # Inputs that read as options with 16 to 19 fields set (most random ones are an
        # option error somewhere), and one that reads as nothing at all.
        seeds=[random.Random(k).randbytes(400) for k in _RICH_SEEDS] + [bytes(40)],
        max_len=800,
    ),
]
