"""How pppd reads option values: numbers (C ``strtoul``), escapes, host names, device words.

Numbers are read as pppd reads them: integers with base 0, so ``0x10`` is hex and, as in pppd,
``010`` is octal 8; ``asyncmap`` is always hex. Unlike pppd, trailing junk (``mru 1500k``) is an
error. Typographic characters pasted from PDFs (U+2212 MINUS SIGN for ``-``) are named in the
error with the ASCII word that was probably meant.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from typing import Final

from pyppp.errors import ConfigError
from pyppp.pppd.optiontable import OptionSpec

TYPOGRAPHIC: Final = {
    "\u2010": "-",  # HYPHEN
    "\u2011": "-",  # NON-BREAKING HYPHEN
    "\u2012": "-",  # FIGURE DASH
    "\u2013": "-",  # EN DASH
    "\u2014": "-",  # EM DASH
    "\u2212": "-",  # MINUS SIGN
    "\u00ad": "-",  # SOFT HYPHEN
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u00a0": " ",  # NO-BREAK SPACE
}
_DASHES: Final = "".join(ch for ch, ascii_ch in TYPOGRAPHIC.items() if ascii_ch == "-")
_DASH_FLAG: Final = re.compile(f"(?:^|\\s)[{_DASHES}][A-Za-z]")


def asciify(text: str) -> str:
    """Replace typographic characters by the ASCII ones pppd needs (U+2212 MINUS SIGN -> ``-``)."""
    return "".join(TYPOGRAPHIC.get(ch, ch) for ch in text)


def check_command(name: str, command: str, where: str) -> None:
    """Refuse a ``connect``/``disconnect``/``init`` command with a typographic dash flag.

    Raises:
        ConfigError: the command has one (chat(8) would not understand its ``-v`` either).
    """
    match = _DASH_FLAG.search(command)
    if match is not None:
        dash = match.group().strip()[0]
        raise ConfigError(
            f"{name} command {command!r} contains U+{ord(dash):04X} "
            f"{unicodedata.name(dash, '')} before a flag; use an ASCII '-' "
            f"(text copied from a PDF or web page?)",
            source=where,
        )


_NUMBER: Final = re.compile(r"[ \t\n\r\v\f]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")
_HEX_NUMBER: Final = re.compile(r"[ \t\n\r\v\f]*([+-]?)(?:0[xX])?([0-9a-fA-F]+)")


def parse_int(text: str, option: str, where: str, *, base: int) -> int:
    """C ``strtoul`` with ``base`` 0 or 16, but the whole word must be the number."""
    pattern = _NUMBER if base == 0 else _HEX_NUMBER
    match = pattern.fullmatch(text)
    if match is None:
        raise ConfigError(f"invalid numeric parameter '{text}' for {option} option", source=where)
    sign, digits = match.groups()
    if base == 16:
        value = int(digits, 16)
    elif digits[:2] in ("0x", "0X"):
        value = int(digits[2:], 16)
    elif digits.startswith("0"):
        value = int(digits, 8)  # C's base 0: a leading 0 means octal, as in pppd
    else:
        value = int(digits)
    if value > 0xFFFFFFFF:
        raise ConfigError(
            f"numeric parameter '{text}' for {option} option is too large", source=where
        )
    return -value if sign == "-" else value


def check_range(spec: OptionSpec, value: int, where: str) -> None:
    """Check an integer option against its table limits.

    Raises:
        ConfigError: the value is outside ``spec.minimum``..``spec.maximum``.
    """
    low, high = spec.minimum, spec.maximum
    if (low is not None and value < low) or (high is not None and value > high):
        if low is not None and high is not None:
            limit = f"between {low} and {high}"
        elif low is not None:
            limit = f">= {low}"
        else:
            limit = f"<= {high}"
        raise ConfigError(f"{spec.name} value must be {limit}", source=where)


def parse_escape(text: str, where: str) -> tuple[int, ...]:
    """Parse like pppd's ``setescape``: hex numbers separated by commas (or spaces)."""
    chars: list[int] = []
    for item in re.split(r"[, ]+", text.strip(", ")):
        if not item or not re.fullmatch(r"(?:0[xX])?[0-9a-fA-F]+", item):
            raise ConfigError(
                f"escape parameter contains invalid hex number '{item}'", source=where
            )
        value = int(item, 16)
        # pppd(8): "The characters which may not be escaped are those with hex values
        # 0x20 - 0x3f or 0x5e" (0x5e would make the escape itself ambiguous, RFC 1662).
        if value > 0xFF or 0x20 <= value <= 0x3F or value == 0x5E:
            raise ConfigError(f"can't escape character 0x{value:x}", source=where)
        chars.append(value)
    return tuple(chars)


_HOSTNAME: Final = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252}[A-Za-z0-9_.])?")


def check_host(text: str, what: str, where: str, *, check_bad: bool = False) -> None:
    """An IPv4 address or a host name; pppd resolves names, pyppp keeps them as written."""
    try:
        address = ipaddress.IPv4Address(text)
    except ValueError:
        if not _HOSTNAME.fullmatch(text) or text.replace(".", "").isdigit():
            raise ConfigError(f"unknown host: {text} (for {what})", source=where) from None
        return
    # pppd's bad_ip_adrs(): loopback, multicast and class E addresses are refused.
    if check_bad and (address.is_loopback or address.is_multicast or address.is_reserved):
        raise ConfigError(f"bad {what} {text}", source=where)


def parse_listen_address(text: str, option: str, where: str) -> tuple[str, int]:
    """``[HOST:]PORT`` to listen on (``[::1]:9100`` for IPv6); the host defaults to loopback.

    A non-loopback address must be written out (``0.0.0.0:9100``); an empty host (``:9100``),
    which some tools read as "every interface", is refused as ambiguous.

    Raises:
        ConfigError: not that form, or a port outside 1..65535.
    """
    host, colon, port_text = text.rpartition(":")
    if not colon:
        host = "127.0.0.1"
    elif not host:
        raise ConfigError(
            f"{option} {text}: say which address to listen on "
            f"(127.0.0.1:{port_text}, or 0.0.0.0:{port_text} for every interface)",
            source=where,
        )
    elif host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ConfigError(f"{option} {text}: bad IPv6 address", source=where) from None
    elif ":" in host:
        raise ConfigError(f"{option} {text}: write an IPv6 address as [ADDRESS]:PORT", source=where)
    else:
        check_host(host, option, where)
    if not port_text.isdigit() or not 0 < int(port_text) <= 65535:
        raise ConfigError(f"{option} {text}: the port must be 1 to 65535", source=where)
    return host, int(port_text)


def parse_identifiers(text: str, where: str) -> tuple[str | None, str | None]:
    """Read pppd's ``ipv6 <local>,<remote>`` (pppd ``setifaceid``); either side may be empty.

    Each identifier is written as an IPv6 address whose upper 64 bits are zero (``::1``,
    ``::dead:beef``) and that is not ``::``.

    Returns:
        The local and remote identifiers in canonical form (``"::1"``), ``None`` if empty.

    Raises:
        ConfigError: pppd's "Illegal interface identifier (local): ..." (exit status 2).
    """
    local_text, _, remote_text = text.partition(",")
    out: list[str | None] = []
    for side, word in (("local", local_text), ("remote", remote_text)):
        if not word:
            out.append(None)
            continue
        try:
            value = int(ipaddress.IPv6Address(word))
        except ValueError:
            value = -1
        if not 0 < value < 1 << 64:
            if value >= 1 << 64:
                hint = "an IPv6 address, not an identifier"
            else:
                hint = "zero is no identifier" if value == 0 else "not an identifier"
            raise ConfigError(
                f"Illegal interface identifier ({side}): {word} ({hint}: give the low 64 bits "
                "with the upper ones zero, as ::1 or ::dead:beef)",
                source=where,
            )
        out.append(str(ipaddress.IPv6Address(value)))
    return out[0], out[1]


def device_path(text: str) -> str:
    """The device path for a device word, as pppd makes it (``ttyS1`` -> ``/dev/ttyS1``)."""
    # pppd: "If ttyname does not begin with a slash (/), the string "/dev/" is prepended".
    if "://" in text or text.startswith("/"):
        return text
    return "/dev/" + text


def is_device_word(text: str) -> bool:
    """Whether pyppp takes this word as a device name (pppd stats it; pyppp looks at it).

    A path (``/dev/ttyS1``, ``/tmp/pty``), a name pppd would find in ``/dev`` and that
    serial ports have (``ttyS0``, ``ttyUSB0``, ``ttyACM0``, ``rfcomm0``, ``ircomm0``), or a
    pyserial URL (``rfc2217://host:2006``, ``socket://host:port``, ``loop://``).
    """
    if not text.isprintable() or not text.isascii():
        return False
    if "://" in text:
        return True
    if text.startswith("/"):
        return True
    return ":" not in text and text.startswith(("tty", "rfcomm", "ircomm"))


def tty_options_name(device: str | None) -> str | None:
    """The ``options.<ttyname>`` file name pppd reads for ``device``, or None.

    Everything up to and including the first ``/dev/`` is dropped and the remaining ``/``
    become ``.``; ``tty`` alone (the controlling terminal) and pyserial URLs have none.

    >>> tty_options_name("/dev/serial/by-id/usb-FTDI")
    'options.serial.by-id.usb-FTDI'
    """
    if device is None or "://" in device:
        return None
    device = device_path(device)
    index = device.find("/dev/")
    name = device[index + 5 :] if index >= 0 else device
    if not name or name == "tty":
        return None
    return "options." + name.replace("/", ".")


_DEFLATE_SIZES: Final = re.compile(r"([0-9]+)(?:,([0-9]+))?")


def parse_deflate(text: str, where: str) -> tuple[int, int, str | None]:
    """Read ``deflate N[,M]`` as pppd's ccp.c ``setdeflate``: the windows to ask for, to allow.

    Each is 0 (none) or 8..15; 8 is raised to 9, which zlib can do, with pppd's warning.

    Returns:
        ``(want, allow, warning)``; ``warning`` is pppd's line when 8 was raised, else ``None``.

    Raises:
        ConfigError: pppd's "invalid parameter" or "values must be 0 or 8 .. 15".
    """
    match = _DEFLATE_SIZES.fullmatch(text)
    if match is None:
        raise ConfigError(f"invalid parameter '{text}' for deflate option", source=where)
    want = int(match[1])
    allow = int(match[2]) if match[2] is not None else want
    if any(size != 0 and not 8 <= size <= 15 for size in (want, allow)):
        raise ConfigError("deflate option values must be 0 or 8 .. 15", source=where)
    warning = None
    if 8 in (want, allow):
        want, allow = (9 if size == 8 else size for size in (want, allow))
        warning = "deflate option value of 8 changed to 9 to avoid zlib bug"
    return want, allow, warning
