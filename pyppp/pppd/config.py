r"""pppd's option words and options files -> :class:`PppOptions`.

A pppd user points pyppp at their ``/etc/ppp`` and it reads it the way pppd does:

* **Words** (:func:`parse_words`, pppd's ``getword``). Whitespace separates words; a ``#``
  outside quotes ends the word and starts a comment that runs to the end of the line (so
  ``password abc#1`` is the word ``abc``, exactly as in pppd); single or double quotes make a
  section in which whitespace and ``#`` are ordinary (a quoted section may sit inside a word,
  ``a"b c"d`` is one word, and ``""`` is an empty word); a backslash escapes the next
  character: ``\a \b \f \n \r \t`` as in C, ``\s`` a space, ``\ooo`` up to three octal
  digits, ``\xhh`` up to two hex digits, backslash-newline is skipped, and any other
  character stands for itself (so ``\\``, ``\"``, ``\'``, ``\#``). pppd has no ``\v`` or
  ``\^c`` escape (those are chat(8)'s), so here, as in pppd, ``\v`` is ``v``.
  Deliberate differences, each an error where pppd silently did something surprising: a
  quote still open at the end of the file, a word longer than pppd's 1023 characters (pppd
  truncated it), a NUL character (pppd cut the word there), and bytes that are not UTF-8
  in a word (comments may hold any bytes).
* **Files, in pppd's order**: ``<config-dir>/options``, ``~/.ppprc``, then the command line,
  whose device decides ``<config-dir>/options.<ttyname>`` (read last of the files, but with
  a lower priority than the command line, as pppd's ``OPRIO_CFGFILE`` < ``OPRIO_CMDLINE``).
  The effective order of application is therefore options, ``~/.ppprc``,
  ``options.<ttyname>``, command line: later values override earlier ones, and list
  options accumulate (``asyncmap`` ORs, ``escape`` unions, ``ms-dns``/``ms-wins`` keep the
  last two, ``debug`` counts). ``file F`` and ``call NAME`` (``<config-dir>/peers/NAME``)
  are expanded where the word appears. A missing ``options``/``~/.ppprc``/tty file is
  skipped silently (pppd ignores ENOENT); a missing ``file``/``call`` target is an error.
* **Device, speed, addresses** are recognised as pppd does, without touching the system:
  a word starting with ``/``, or with ``tty``/``rfcomm``/``ircomm``, or a pyserial URL
  (contains ``://``) is the device; an all-digit word is the speed; a word with a colon is
  ``local:remote`` (either side may be empty; host names are kept as strings, see
  :func:`resolve_address`). The tty options file is named as pppd names it: everything up to
  and including ``/dev/`` is dropped and the remaining ``/`` become ``.``
  (``/dev/serial/by-id/x`` -> ``options.serial.by-id.x``). A pyserial URL has no tty
  options file (there is no tty name to key it on); neither does "no device" (pppd would
  use the terminal on standard input; pyppp leaves that to the shell).
* **Privilege**, as pppd: ``options``, ``options.<ttyname>`` and ``call`` files are
  privileged sources; ``~/.ppprc``, the command line and ``file`` (which inherits the
  privilege of the file that names it) are privileged only when pyppp runs as root
  (``privileged=True``, the default; the shell passes ``os.geteuid() == 0``).
* **Unsupported options fail.** Every pppd(8) word is in :data:`OPTIONS`: ``supported``
  words set a typed field; ``noop`` words turn off something pyppp never does (``noccp``,
  ``novj``, ``noipv6``, ``refuse-mschap``...) and are only recorded; ``unsupported`` words
  (``demand``, ``plugin``, ``pty``, ``require-mschap-v2``...) raise one clear
  "not supported by pyppp" :class:`~pyppp.errors.ConfigError` (exit status 2), never a
  silent ignore. pyppp's own words (``windows``) are marked ``extension``.
* **Typographic characters.** Text copied from PDFs and web pages brings ``-chap`` spelled
  with U+2212 MINUS SIGN, or curly quotes. pyppp does not guess: such a word is an unrecognized
  option, and the error names the character and the ASCII word that was probably meant
  ("unrecognized option '<U+2212>chap': it contains U+2212 MINUS SIGN where pppd needs an ASCII
  '-' (text copied from a PDF or web page?); did you mean '-chap'?"). A ``connect``,
  ``disconnect`` or ``init`` command containing a typographic dash before a letter is
  rejected the same way, because chat(8) would not understand such a ``-v`` either.

Numbers are read as pppd reads them (C ``strtoul``): integers with base 0, so ``0x10`` is
hex and, as in pppd, ``010`` is octal 8; ``asyncmap`` is always hex (``a0000`` and
``0xa0000`` both work). Unlike pppd, trailing junk (``mru 1500k``) is an error.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from enum import Enum
from pathlib import Path
from types import MappingProxyType
from typing import Final, NamedTuple

from pyppp.errors import ConfigError
from pyppp.pppd.words import getwords

__all__ = [
    "OPTIONS",
    "OPTION_WORDS",
    "Kind",
    "OptionSpec",
    "PppOptions",
    "Word",
    "command_line_words",
    "design_flag_words",
    "dump",
    "is_device_word",
    "load_options",
    "options_from_words",
    "parse_hosts_file",
    "parse_words",
    "resolve_address",
    "tty_options_name",
]

COMMAND_LINE: Final = "command line"
"""The source pppd names for options given as program arguments."""

MAX_WORD_LEN: Final = 1023
"""pppd's ``MAXWORDLEN`` (1024) less the terminating NUL."""

MAX_FILE_SIZE: Final = 1 << 20
"""An options file larger than this is refused rather than read into memory."""

MAX_NESTING: Final = 16
"""How deep ``file``/``call`` may nest (pppd has no limit and would run out of stack)."""


# ---------------------------------------------------------------------------------------------
# Words


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


# ---------------------------------------------------------------------------------------------
# The option table


class Kind(Enum):
    """How an option word is interpreted."""

    FLAG = "flag"  # no argument: set `field` (and `also`) to fixed values
    COUNT = "count"  # no argument: add one to `field` (debug)
    INT = "int"  # one integer argument (C strtoul base 0)
    HEX = "hex"  # one hex argument, ORed into `field` (asyncmap)
    STRING = "string"  # one string argument
    COMMAND = "command"  # one string argument run by a shell (connect, init, disconnect)
    ESCAPE = "escape"  # comma-separated hex bytes, unioned into `field`
    ADDRESS_LIST = "address list"  # one address; the last two given are kept (ms-dns)
    FILE = "file"  # read options from a file
    CALL = "call"  # read options from <config-dir>/peers/NAME
    NOOP = "noop"  # disables something pyppp never does: accepted and recorded
    UNSUPPORTED = "unsupported"  # a pppd option pyppp does not implement: an error


FieldValue = bool | int | str | None
"""Values an option can store in a field (the list kinds build tuples themselves)."""


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """One option word (with its aliases) in pppd's language.

    Attributes:
        name: the canonical word, as pppd(8) documents it.
        kind: how the word and its argument are interpreted.
        help: one line of help (pppd's own help text where it has one).
        field: the :class:`PppOptions` field it sets, if any.
        value: for ``FLAG``: the value stored in ``field``.
        also: further ``(field, value)`` pairs a ``FLAG`` sets (``require-pap`` sets ``auth``).
        aliases: other words with the same meaning (``-detach`` for ``nodetach``).
        minimum: for ``INT``: the smallest value accepted.
        maximum: for ``INT``: the largest value accepted.
        privileged: pppd accepts it only from a privileged source (or from root).
        extension: a pyppp word that pppd does not have.
    """

    name: str
    kind: Kind
    help: str
    field: str | None = None
    value: FieldValue = True
    also: tuple[tuple[str, FieldValue], ...] = ()
    aliases: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    privileged: bool = False
    extension: bool = False

    @property
    def takes_argument(self) -> bool:
        """Whether the word is followed by one argument word."""
        return self.kind not in (Kind.FLAG, Kind.COUNT, Kind.NOOP, Kind.UNSUPPORTED)

    @property
    def words(self) -> tuple[str, ...]:
        """The canonical word followed by its aliases."""
        return (self.name, *self.aliases)


def _flag(
    name: str,
    field_name: str,
    help_text: str,
    value: FieldValue = True,
    *,
    aliases: tuple[str, ...] = (),
    also: tuple[tuple[str, FieldValue], ...] = (),
    privileged: bool = False,
    extension: bool = False,
) -> OptionSpec:
    return OptionSpec(
        name,
        Kind.FLAG,
        help_text,
        field_name,
        value,
        also,
        aliases,
        privileged=privileged,
        extension=extension,
    )


def _int(
    name: str,
    field_name: str,
    help_text: str,
    *,
    minimum: int | None = 0,
    maximum: int | None = None,
    aliases: tuple[str, ...] = (),
    privileged: bool = False,
) -> OptionSpec:
    return OptionSpec(
        name,
        Kind.INT,
        help_text,
        field_name,
        aliases=aliases,
        minimum=minimum,
        maximum=maximum,
        privileged=privileged,
    )


def _str(
    name: str,
    field_name: str,
    help_text: str,
    *,
    privileged: bool = False,
    kind: Kind = Kind.STRING,
) -> OptionSpec:
    return OptionSpec(name, kind, help_text, field_name, privileged=privileged)


def _noop(name: str, help_text: str, *, aliases: tuple[str, ...] = ()) -> OptionSpec:
    return OptionSpec(name, Kind.NOOP, help_text, aliases=aliases)


def _no(name: str, reason: str, *, aliases: tuple[str, ...] = ()) -> OptionSpec:
    return OptionSpec(name, Kind.UNSUPPORTED, reason, aliases=aliases)


_EAP_TLS: Final = "EAP-TLS/PEAP authentication is not implemented"
_EAP: Final = "EAP authentication is not implemented"
_MSCHAP: Final = "MS-CHAP is not implemented (PAP and CHAP-MD5 are)"
_MPPE: Final = "MPPE encryption is not implemented"
_CCP: Final = "compression (CCP) is not implemented"
_IPV6: Final = "IPv6CP is not implemented"
_MULTILINK: Final = "multilink PPP is not implemented"
_FILTER: Final = "packet filters are not implemented"
_NOT_YET: Final = "not implemented yet"

OPTIONS: Final[tuple[OptionSpec, ...]] = (
    # -- files ----------------------------------------------------------------------------
    OptionSpec("file", Kind.FILE, "Take options from a file"),
    OptionSpec("call", Kind.CALL, "Take options from a privileged file in <config-dir>/peers"),
    # -- serial line (tty.c) --------------------------------------------------------------
    _flag("lock", "lock", "Lock serial device with UUCP-style lock file"),
    _flag("nolock", "lock", "Don't lock serial device", False, privileged=True),
    _flag("crtscts", "crtscts", "Set hardware (RTS/CTS) flow control"),
    _flag(
        "nocrtscts",
        "crtscts",
        "Disable hardware flow control",
        False,
        aliases=("-crtscts", "nocdtrcts"),
    ),
    _flag("xonxoff", "xonxoff", "Set software (XON/XOFF) flow control"),
    _flag("modem", "modem", "Use modem control lines"),
    _flag("local", "modem", "Don't use modem control lines", False),
    _str("connect", "connect", "A program to set up a connection", kind=Kind.COMMAND),
    _str("disconnect", "disconnect", "Program to disconnect serial device", kind=Kind.COMMAND),
    _str("init", "init", "A program to initialize the device", kind=Kind.COMMAND),
    _int("connect-delay", "connect_delay", "Maximum time (in ms) to wait after connect script"),
    OptionSpec(
        "escape", Kind.ESCAPE, "List of character codes to escape on transmission", "escape"
    ),
    _no("cdtrcts", "DTR/CTS flow control is not available through pyserial"),
    _no("welcome", _NOT_YET),
    _no("pty", "a pty command instead of a device is not implemented"),
    _no("notty", "notty is not implemented (give a device or a pyserial URL)"),
    _no("socket", "use a pyserial URL (socket://host:port) as the device instead"),
    _no("record", "recording the raw line to a file is not implemented"),
    _no("sync", "synchronous HDLC is not implemented (asynchronous only)"),
    _no("stop-bits", _NOT_YET),
    # -- LCP (lcp.c) ----------------------------------------------------------------------
    OptionSpec(
        "asyncmap",
        Kind.HEX,
        "Set asyncmap (for received packets)",
        "asyncmap",
        aliases=("-as",),
    ),
    _flag(
        "default-asyncmap",
        "default_asyncmap",
        "Disable asyncmap negotiation",
        aliases=("-am",),
        also=(("asyncmap", 0xFFFFFFFF),),
    ),
    _int(
        "mru",
        "mru",
        "Set MRU (maximum received packet size) for negotiation",
        minimum=128,
        maximum=16384,
    ),
    _flag(
        "default-mru",
        "default_mru",
        "Disable MRU negotiation (use default 1500)",
        aliases=("-mru",),
    ),
    _int("mtu", "mtu", "Set our MTU", minimum=128, maximum=16384),
    _flag("nopcomp", "pcomp", "Disable protocol field compression", False, aliases=("-pc",)),
    _flag("noaccomp", "accomp", "Disable address/control compression", False, aliases=("-ac",)),
    _flag("nomagic", "magic", "Disable magic number negotiation", False, aliases=("-mn",)),
    _flag("passive", "passive", "Set passive mode", aliases=("-p",)),
    _flag("silent", "silent", "Set silent mode"),
    _int("lcp-echo-interval", "lcp_echo_interval", "Set time in seconds between LCP echo requests"),
    _int(
        "lcp-echo-failure",
        "lcp_echo_failure",
        "Set number of consecutive echo failures to indicate link failure",
    ),
    _int("lcp-restart", "lcp_restart", "Set time in seconds for LCP retransmit timeout", minimum=1),
    _int(
        "lcp-max-configure",
        "lcp_max_configure",
        "Set maximum number of LCP configure-request transmissions",
        minimum=1,
    ),
    _int(
        "lcp-max-terminate",
        "lcp_max_terminate",
        "Set maximum number of LCP terminate-request transmissions",
        minimum=1,
    ),
    _int(
        "lcp-max-failure",
        "lcp_max_failure",
        "Set maximum number of LCP configure-naks before configure-rejects",
        minimum=1,
    ),
    _no("-all", "'-all' (request and allow no LCP options) is not implemented"),
    _no("lcp-echo-adaptive", _NOT_YET),
    _no("lcp-rtt-file", _NOT_YET),
    _no("receive-all", _NOT_YET),
    _noop("noendpoint", "pyppp never sends or accepts an endpoint discriminator"),
    _no("endpoint", _MULTILINK),
    _no("mrru", _MULTILINK),
    _no("mpshortseq", _MULTILINK),
    _noop("nompshortseq", "pyppp never negotiates multilink"),
    # -- process control (options.c, main.c) ----------------------------------------------
    OptionSpec("debug", Kind.COUNT, "Increase debugging level", "debug", aliases=("-d",)),
    _int(
        "kdebug", "kdebug", "Set kernel driver debug level (pyppp: no kernel driver; kept for dump)"
    ),
    _flag("nodetach", "nodetach", "Don't detach from controlling tty", aliases=("-detach",)),
    _flag(
        "updetach",
        "updetach",
        "Detach from controlling tty once link is up",
        also=(("nodetach", False),),
    ),
    _flag("persist", "persist", "Keep on reopening connection after close"),
    _flag("nopersist", "persist", "Turn off persist option", False),
    _int("holdoff", "holdoff", "Set time in seconds before retrying connection"),
    _int("maxfail", "maxfail", "Maximum number of unsuccessful connection attempts to allow"),
    _int("idle", "idle", "Set time in seconds before disconnecting idle link"),
    _int("maxconnect", "maxconnect", "Set connection time limit"),
    _str("logfile", "logfile", "Append log messages to this file"),
    _str("linkname", "linkname", "Set logical name for link", privileged=True),
    _str("ifname", "ifname", "Set PPP interface name", privileged=True),
    _int("unit", "unit", "PPP interface unit number to use if possible"),
    _flag("dump", "dump", "Print out option values after parsing all options"),
    _flag("dryrun", "dryrun", "Stop after parsing, printing, and checking options"),
    _str("ipparam", "ipparam", "Set ip script parameter"),
    _no("demand", "dial-on-demand is not implemented"),
    _no("master_detach", _MULTILINK),
    _no("up_sdnotify", _NOT_YET),
    _no("domain", _NOT_YET),
    _no("logfd", _NOT_YET),
    _no("nolog", _NOT_YET, aliases=("nologfd",)),
    _no("ktune", "pyppp does not change kernel settings"),
    _noop("noktune", "pyppp never changes kernel settings"),
    _no("child-timeout", _NOT_YET),
    _no("set", _NOT_YET),
    _no("unset", _NOT_YET),
    _no("defaultroute-metric", _NOT_YET),
    _no("multilink", _MULTILINK, aliases=("mp",)),
    _noop("nomultilink", "pyppp never negotiates multilink", aliases=("nomp",)),
    _no("bundle", _MULTILINK),
    _no("plugin", "pppd plugins are C shared objects; pyppp cannot load them"),
    _no("privgroup", _NOT_YET),
    _no("pass-filter", _FILTER),
    _no("active-filter", _FILTER),
    _no("maxoctets", _NOT_YET, aliases=("mo",)),
    _no("mo-direction", _NOT_YET),
    _no("mo-timeout", _NOT_YET),
    _no("--version", "use 'pyppp --version'"),
    _no("--help", "use 'pyppp --help'", aliases=("-h",)),
    # -- authentication (auth.c, upap.c, chap-new.c) --------------------------------------
    _flag("auth", "auth", "Require authentication from peer"),
    _flag("noauth", "auth", "Don't require peer to authenticate", False, privileged=True),
    _flag(
        "require-pap",
        "require_pap",
        "Require PAP authentication from peer",
        aliases=("+pap",),
        also=(("auth", True),),
    ),
    _flag(
        "require-chap",
        "require_chap",
        "Require CHAP authentication from peer",
        aliases=("+chap",),
        also=(("auth", True),),
    ),
    _flag("refuse-pap", "refuse_pap", "Don't agree to auth to peer with PAP", aliases=("-pap",)),
    _flag(
        "refuse-chap", "refuse_chap", "Don't agree to auth to peer with CHAP", aliases=("-chap",)
    ),
    _noop("refuse-mschap", "pyppp never authenticates with MS-CHAP", aliases=("-mschap",)),
    _noop("refuse-mschap-v2", "pyppp never authenticates with MS-CHAPv2", aliases=("-mschap-v2",)),
    _noop(
        "refuse-eap",
        "pyppp never authenticates with EAP",
    ),
    _no("require-mschap", _MSCHAP, aliases=("+mschap",)),
    _no("require-mschap-v2", _MSCHAP, aliases=("+mschap-v2",)),
    _no("require-eap", _EAP),
    _flag("login", "login", "Use system password database for PAP"),
    _str("name", "name", "Set local name for authentication", privileged=True),
    _str("user", "user", "Set name for auth with peer"),
    _str("password", "password", "Password for authenticating us to the peer"),
    _str("remotename", "remotename", "Set remote name for authentication"),
    _flag("hide-password", "hide_password", "Don't output passwords to log"),
    _flag("show-password", "hide_password", "Show password string in debug log messages", False),
    _int("pap-restart", "pap_restart", "Set retransmit timeout for PAP", minimum=1),
    _int(
        "pap-max-authreq",
        "pap_max_authreq",
        "Set max number of transmissions for auth-reqs",
        minimum=1,
    ),
    _int("pap-timeout", "pap_timeout", "Set time limit for peer PAP authentication"),
    _int("chap-restart", "chap_restart", "Set timeout for CHAP", minimum=1),
    _int("chap-max-challenge", "chap_max_challenge", "Set max #xmits for challenge", minimum=1),
    _int("chap-interval", "chap_interval", "Set interval for rechallenge"),
    _no("chap-timeout", _NOT_YET),
    _no("chapms-strip-domain", _MSCHAP),
    _no("papcrypt", _NOT_YET),
    _no("usehostname", _NOT_YET),
    _no("+ua", "removed from pppd; use 'user' and 'password'"),
    _no("allow-ip", _NOT_YET),
    _no("allow-number", _NOT_YET),
    _no("remotenumber", _NOT_YET),
    _no("enable-session", _NOT_YET),
    _no("eap-interval", _EAP),
    _no("eap-max-rreq", _EAP),
    _no("eap-max-sreq", _EAP),
    _no("eap-restart", _EAP),
    _no("eap-timeout", _EAP),
    _no("srp-interval", _EAP),
    _no("srp-pn-secret", _EAP),
    _no("srp-use-pseudonym", _EAP),
    _no("ca", _EAP_TLS),
    _no("capath", _EAP_TLS),
    _no("cert", _EAP_TLS),
    _no("key", _EAP_TLS),
    _no("crl", _EAP_TLS),
    _no("crl-dir", _EAP_TLS),
    _no("max-tls-version", _EAP_TLS),
    _no("need-peer-eap", _EAP_TLS),
    _no("tls-verify-method", _EAP_TLS),
    _no("tls-verify-key-usage", _EAP_TLS),
    # -- IPCP (ipcp.c) --------------------------------------------------------------------
    _flag("noipdefault", "noipdefault", "Don't use name for default IP adrs"),
    _flag("ipcp-accept-local", "ipcp_accept_local", "Accept peer's address for us"),
    _flag("ipcp-accept-remote", "ipcp_accept_remote", "Accept peer's address for it"),
    _int("ipcp-restart", "ipcp_restart", "Set timeout for IPCP", minimum=1),
    _int("ipcp-max-configure", "ipcp_max_configure", "Set max #xmits for conf-reqs", minimum=1),
    _int("ipcp-max-terminate", "ipcp_max_terminate", "Set max #xmits for term-reqs", minimum=1),
    _int("ipcp-max-failure", "ipcp_max_failure", "Set max #conf-naks for IPCP", minimum=1),
    OptionSpec("ms-dns", Kind.ADDRESS_LIST, "DNS address for the peer's use", "ms_dns"),
    OptionSpec("ms-wins", Kind.ADDRESS_LIST, "Nameserver for SMB over TCP/IP for peer", "ms_wins"),
    _flag("usepeerdns", "usepeerdns", "Ask peer for DNS address(es)"),
    _flag("defaultroute", "defaultroute", "Add default route"),
    _flag(
        "nodefaultroute",
        "defaultroute",
        "disable defaultroute option",
        False,
        aliases=("-defaultroute",),
    ),
    _flag("replacedefaultroute", "replacedefaultroute", "Replace default route", privileged=True),
    _flag("noreplacedefaultroute", "replacedefaultroute", "Do not replace default route", False),
    _flag("proxyarp", "proxyarp", "Add proxy ARP entry"),
    _flag("noproxyarp", "proxyarp", "disable proxyarp option", False, aliases=("-proxyarp",)),
    _noop("novj", "pyppp never negotiates Van Jacobson compression", aliases=("-vj",)),
    _noop("novjccomp", "pyppp never negotiates Van Jacobson compression", aliases=("-vjccomp",)),
    _no("vj-max-slots", "Van Jacobson compression is not implemented"),
    _no("noip", "IP is the only network protocol pyppp carries", aliases=("-ip",)),
    _no("netmask", _NOT_YET),
    _no("usepeerwins", _NOT_YET),
    _no("noresolvconf", _NOT_YET),
    _no("noremoteip", _NOT_YET),
    _no("nosendip", _NOT_YET),
    _no("ipcp-no-address", _NOT_YET),
    _no("ipcp-no-addresses", _NOT_YET),
    _no("ip-up-script", _NOT_YET),
    _no("ip-down-script", _NOT_YET),
    _no("ip-pre-up-script", _NOT_YET),
    # -- IPv6CP (ipv6cp.c) ----------------------------------------------------------------
    _noop("noipv6", "pyppp never negotiates IPv6CP", aliases=("-ipv6",)),
    _no("+ipv6", _IPV6),
    _no("ipv6", _IPV6),
    _no("ipv6cp-accept-local", _IPV6),
    _no("ipv6cp-accept-remote", _IPV6),
    _no("ipv6cp-noremote", _IPV6),
    _no("ipv6cp-nosendip", _IPV6),
    _no("ipv6cp-use-ipaddr", _IPV6),
    _no("ipv6cp-use-persistent", _IPV6),
    _no("ipv6cp-use-remotenumber", _IPV6),
    _no("ipv6cp-restart", _IPV6),
    _no("ipv6cp-max-configure", _IPV6),
    _no("ipv6cp-max-terminate", _IPV6),
    _no("ipv6cp-max-failure", _IPV6),
    _no("defaultroute6", _IPV6),
    _noop(
        "nodefaultroute6",
        "pyppp never adds an IPv6 route",
    ),
    # -- CCP (ccp.c) ----------------------------------------------------------------------
    _noop("noccp", "pyppp never negotiates CCP", aliases=("-ccp",)),
    _noop("nobsdcomp", "pyppp never negotiates BSD-Compress", aliases=("-bsdcomp",)),
    _noop("nodeflate", "pyppp never negotiates Deflate", aliases=("-deflate",)),
    _noop("nodeflatedraft", "pyppp never negotiates Deflate", aliases=("-deflatedraft",)),
    _noop("nopredictor1", "pyppp never negotiates Predictor-1", aliases=("-predictor1",)),
    _noop("nomppe", "pyppp never negotiates MPPE", aliases=("-mppe",)),
    _noop("nomppe-40", "pyppp never negotiates MPPE", aliases=("-mppe-40",)),
    _noop("nomppe-128", "pyppp never negotiates MPPE", aliases=("-mppe-128",)),
    _noop("nomppe-stateful", "pyppp never negotiates MPPE"),
    _no("bsdcomp", _CCP),
    _no("deflate", _CCP),
    _no("predictor1", _CCP),
    _no("require-mppe", _MPPE, aliases=("+mppe",)),
    _no("require-mppe-40", _MPPE, aliases=("+mppe-40",)),
    _no("require-mppe-128", _MPPE, aliases=("+mppe-128",)),
    _no("mppe-stateful", _MPPE),
    # -- pyppp extensions (not pppd words) ------------------------------------------------
    _flag(
        "windows",
        "windows",
        "Windows direct cable connection: CLIENT/CLIENTSERVER handshake before LCP",
        extension=True,
    ),
    _flag("nowindows", "windows", "No Windows direct-cable handshake", False, extension=True),
)
"""Every option word pyppp knows, one entry per meaning (aliases inside the entry)."""

OPTION_WORDS: Final[Mapping[str, OptionSpec]] = MappingProxyType(
    {word: spec for spec in OPTIONS for word in spec.words}
)
"""Option word (canonical or alias) -> its :class:`OptionSpec`."""


# ---------------------------------------------------------------------------------------------
# The result


@dataclass(frozen=True)
class PppOptions:
    """The effective options, with pppd's defaults, and where each set value came from.

    Field names are the option words with ``_`` for ``-``; a few hold the positive sense
    of a ``no...`` word (``pcomp`` is False after ``nopcomp``; ``modem`` is False after
    ``local``). ``None`` means "not given" where pppd distinguishes that from any value.

    Attributes:
        sources: field name -> ``"path:line"`` or ``"command line"`` of the word that last
            set it; for ``ms_dns``/``ms_wins`` also ``"ms_dns[0]"``... per kept address.
        noops: canonical words of ``noop`` options given (``"novj"``, ``"noccp"``...).
        warnings: non-fatal remarks for the log (e.g. an unreadable options file).
    """

    # Serial line
    device: str | None = None
    speed: int | None = None
    lock: bool = False
    crtscts: bool | None = None  # None: leave the port's setting unchanged (pppd's default)
    xonxoff: bool = False
    modem: bool = True
    connect: str | None = None
    disconnect: str | None = None
    init: str | None = None
    connect_delay: int = 1000  # milliseconds
    asyncmap: int = 0
    default_asyncmap: bool = False
    escape: tuple[int, ...] = ()
    # Process control
    debug: int = 0
    kdebug: int = 0
    nodetach: bool = False
    updetach: bool = False
    persist: bool = False
    holdoff: int = 30
    maxfail: int = 10
    idle: int = 0
    maxconnect: int = 0
    logfile: str | None = None
    linkname: str | None = None
    ifname: str | None = None
    unit: int | None = None
    dump: bool = False
    dryrun: bool = False
    ipparam: str | None = None
    # LCP (RFC 1661); counters are pppd's fsm.h defaults
    mru: int | None = None  # None: 1500, not negotiated
    default_mru: bool = False
    mtu: int | None = None
    pcomp: bool = True
    accomp: bool = True
    magic: bool = True
    passive: bool = False
    silent: bool = False
    lcp_echo_interval: int = 0  # 0: no echo requests
    lcp_echo_failure: int = 0
    lcp_restart: int = 3
    lcp_max_configure: int = 10
    lcp_max_terminate: int = 2
    lcp_max_failure: int = 5
    # Authentication (RFC 1334 PAP, RFC 1994 CHAP)
    auth: bool | None = None  # None: pppd's default (require auth if there is a default route)
    require_pap: bool = False
    require_chap: bool = False
    refuse_pap: bool = False
    refuse_chap: bool = False
    login: bool = False
    name: str | None = None
    user: str | None = None
    password: str | None = None
    remotename: str | None = None
    hide_password: bool = True
    pap_restart: int = 3
    pap_max_authreq: int = 10
    pap_timeout: int = 30
    chap_restart: int = 3
    chap_max_challenge: int = 10
    chap_interval: int = 0
    # IPCP (RFC 1332, RFC 1877)
    local_ip: str | None = None  # address or host name, as written
    remote_ip: str | None = None
    noipdefault: bool = False
    ipcp_accept_local: bool = False
    ipcp_accept_remote: bool = False
    ipcp_restart: int = 3
    ipcp_max_configure: int = 10
    ipcp_max_terminate: int = 2
    ipcp_max_failure: int = 5
    ms_dns: tuple[str, ...] = ()
    ms_wins: tuple[str, ...] = ()
    usepeerdns: bool = False
    defaultroute: bool = False
    replacedefaultroute: bool = False
    proxyarp: bool = False
    # pyppp extensions
    windows: bool = False
    # Bookkeeping
    noops: tuple[str, ...] = ()
    sources: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    warnings: tuple[str, ...] = ()


_BOOKKEEPING: Final = frozenset({"noops", "sources", "warnings"})
_FIELDS: Final = {f.name for f in fields(PppOptions)} - _BOOKKEEPING
_DEFAULTS: Final = PppOptions()


# ---------------------------------------------------------------------------------------------
# Interpretation: words -> effects -> PppOptions


class _Op(Enum):
    SET = "set"
    OR = "or"
    INC = "inc"
    UNION = "union"
    LAST_TWO = "last two"
    NOOP = "noop"


class _Effect(NamedTuple):
    field: str
    op: _Op
    value: FieldValue | tuple[int, ...]
    source: str


@dataclass
class _Reader:
    """Turns word streams into effects; follows ``file``/``call``; knows the privileges."""

    config_dir: Path
    privileged_user: bool
    device_fixed: bool = False
    warnings: list[str] = field(default_factory=list)
    stack: list[Path] = field(default_factory=list)

    def read_file(
        self, path: Path, *, priv: bool, must_exist: bool, where: str | None = None
    ) -> list[_Effect]:
        if len(self.stack) >= MAX_NESTING:
            raise ConfigError(
                f"too many nested options files (more than {MAX_NESTING}) at {path}",
                source=where,
            )
        try:
            key = path.resolve()
        except (OSError, RuntimeError):  # RuntimeError: a symlink loop on older Pythons
            key = path
        if key in self.stack:
            chain = " -> ".join(str(p) for p in [*self.stack, key])
            raise ConfigError(f"options file {path} includes itself ({chain})", source=where)
        text = self._read_text(path, must_exist=must_exist, where=where)
        if text is None:
            return []
        self.stack.append(key)
        try:
            return self.interpret(parse_words(text, str(path)), priv=priv)
        finally:
            self.stack.pop()

    def _read_text(self, path: Path, *, must_exist: bool, where: str | None) -> str | None:
        try:
            with open(path, "rb") as stream:  # plain open(): architecture.md
                data = stream.read(MAX_FILE_SIZE + 1)
        except (FileNotFoundError, NotADirectoryError) as exc:
            if must_exist:
                raise ConfigError(
                    f"Can't open options file {path}: {exc.strerror}", source=where
                ) from None
            return None
        except OSError as exc:
            if must_exist:
                raise ConfigError(
                    f"Can't open options file {path}: {exc.strerror or exc}", source=where
                ) from None
            # pppd: "Warning: can't open options file %s: %m" and carries on.
            self.warnings.append(f"Warning: can't open options file {path}: {exc.strerror}")
            return None
        if len(data) > MAX_FILE_SIZE:
            raise ConfigError(
                f"options file {path} is larger than {MAX_FILE_SIZE} bytes", source=where
            )
        return data.decode("utf-8", "surrogateescape")

    def interpret(self, words: Sequence[Word], *, priv: bool) -> list[_Effect]:
        effects: list[_Effect] = []
        previous: tuple[OptionSpec, str] | None = None
        i = 0
        while i < len(words):
            word = words[i]
            i += 1
            spec = OPTION_WORDS.get(word.text)
            if spec is None:
                effects.extend(self._wild(word, previous))
                previous = None
                continue
            if spec.privileged and not priv:
                raise ConfigError(
                    f"using the {word.text} option requires root privilege", source=word.source
                )
            argument: Word | None = None
            if spec.takes_argument:
                if i >= len(words):
                    raise ConfigError(
                        f"too few parameters for option '{word.text}'", source=word.source
                    )
                argument = words[i]
                i += 1
            effects.extend(self._apply(spec, word, argument, priv=priv))
            previous = (spec, argument.text if argument is not None else "")
        return effects

    def _apply(
        self, spec: OptionSpec, word: Word, argument: Word | None, *, priv: bool
    ) -> list[_Effect]:
        where = word.source
        arg = argument.text if argument is not None else ""
        target = spec.field or ""
        match spec.kind:
            case Kind.FLAG:
                return [
                    _Effect(target, _Op.SET, spec.value, where),
                    *(_Effect(f, _Op.SET, v, where) for f, v in spec.also),
                ]
            case Kind.COUNT:
                return [_Effect(target, _Op.INC, 1, where)]
            case Kind.INT:
                value = _parse_int(arg, spec.name, where, base=0)
                _check_range(spec, value, where)
                return [_Effect(target, _Op.SET, value, where)]
            case Kind.HEX:
                return [_Effect(target, _Op.OR, _parse_int(arg, spec.name, where, base=16), where)]
            case Kind.STRING:
                return [_Effect(target, _Op.SET, arg, where)]
            case Kind.COMMAND:
                _check_command(spec.name, arg, where)
                return [_Effect(target, _Op.SET, arg, where)]
            case Kind.ESCAPE:
                return [_Effect(target, _Op.UNION, _parse_escape(arg, where), where)]
            case Kind.ADDRESS_LIST:
                _check_host(arg, spec.name, where)
                return [_Effect(target, _Op.LAST_TWO, arg, where)]
            case Kind.FILE:
                # pppd: a file read with `file` has the privilege of whoever named it.
                return self.read_file(Path(arg), priv=priv, must_exist=True, where=where)
            case Kind.CALL:
                if not arg or arg.startswith("/") or ".." in arg.split("/"):
                    raise ConfigError(
                        "call option value may not contain .. or start with /", source=where
                    )
                path = self.config_dir / "peers" / arg
                return self.read_file(path, priv=True, must_exist=True, where=where)
            case Kind.NOOP:
                return [_Effect("noops", _Op.NOOP, spec.name, where)]
            case Kind.UNSUPPORTED:
                raise ConfigError(
                    f"the '{word.text}' option is not supported by pyppp ({spec.help})",
                    source=where,
                )
        raise AssertionError(spec.kind)  # pragma: no cover (the match is exhaustive)

    def _wild(self, word: Word, previous: tuple[OptionSpec, str] | None) -> list[_Effect]:
        """Interpret pppd's ``o_wild`` options: device name, speed, ``local:remote``."""
        text, where = word.text, word.source
        if is_device_word(text):
            if self.device_fixed:
                raise ConfigError(
                    f"the device name ({text}) may not be changed in {where.rsplit(':', 1)[0]}",
                    source=where,
                )
            return [_Effect("device", _Op.SET, _device_path(text), where)]
        if text.isascii() and text.isdigit():
            speed = int(text)
            if speed <= 0:
                raise ConfigError(f"invalid speed {text}", source=where)
            return [_Effect("speed", _Op.SET, speed, where)]
        if ":" in text and text.isascii():
            local, remote = text.split(":", 1)
            effects = []
            if local:
                _check_host(local, "local IP address", where, check_bad=True)
                effects.append(_Effect("local_ip", _Op.SET, local, where))
            if remote:
                _check_host(remote, "remote IP address", where, check_bad=True)
                effects.append(_Effect("remote_ip", _Op.SET, remote, where))
            return effects
        raise ConfigError(_unrecognized(text, previous), source=where)


def _unrecognized(text: str, previous: tuple[OptionSpec, str] | None) -> str:
    message = f"unrecognized option '{text}'"
    odd = next((ch for ch in text if not ch.isascii()), None)
    if odd is not None:
        name = unicodedata.name(odd, f"U+{ord(odd):04X}")
        label = f"U+{ord(odd):04X} {name}"
        suggestion = _asciify(text)
        if odd in _TYPOGRAPHIC:
            message += (
                f": it contains {label} where pppd needs an ASCII "
                f"{_TYPOGRAPHIC[odd]!r} (text copied from a PDF or web page?)"
            )
        else:
            message += f": it contains the non-ASCII character {label}"
        if suggestion != text and suggestion in OPTION_WORDS:
            message += f"; did you mean '{suggestion}'?"
        return message
    if previous is not None and previous[0].kind is Kind.COMMAND and text.startswith("-"):
        # The Serial-Laplink-HOWTO writes `connect chat -v -f ...` unquoted: pppd, too,
        # takes only `chat` as the command and then stumbles on `-v`.
        name, command = previous[0].name, previous[1]
        message += (
            f" (if it belongs to the {name} command, quote the whole command: "
            f"{name} '{command} {text} ...')"
        )
    return message


_TYPOGRAPHIC: Final = {
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
_DASHES: Final = "".join(ch for ch, ascii_ch in _TYPOGRAPHIC.items() if ascii_ch == "-")
_DASH_FLAG: Final = re.compile(f"(?:^|\\s)[{_DASHES}][A-Za-z]")


def _asciify(text: str) -> str:
    return "".join(_TYPOGRAPHIC.get(ch, ch) for ch in text)


def _check_command(name: str, command: str, where: str) -> None:
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


def _parse_int(text: str, option: str, where: str, *, base: int) -> int:
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


def _check_range(spec: OptionSpec, value: int, where: str) -> None:
    low, high = spec.minimum, spec.maximum
    if (low is not None and value < low) or (high is not None and value > high):
        if low is not None and high is not None:
            limit = f"between {low} and {high}"
        elif low is not None:
            limit = f">= {low}"
        else:
            limit = f"<= {high}"
        raise ConfigError(f"{spec.name} value must be {limit}", source=where)


def _parse_escape(text: str, where: str) -> tuple[int, ...]:
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


def _check_host(text: str, what: str, where: str, *, check_bad: bool = False) -> None:
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


def _device_path(text: str) -> str:
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
    device = _device_path(device)
    index = device.find("/dev/")
    name = device[index + 5 :] if index >= 0 else device
    if not name or name == "tty":
        return None
    return "options." + name.replace("/", ".")


# ---------------------------------------------------------------------------------------------
# Entry points


def load_options(
    device: str | None,
    argv: Sequence[str],
    *,
    config_dir: Path = Path("/etc/ppp"),
    home: Path | None = None,
    privileged: bool = True,
    extra: Sequence[Word] = (),
) -> PppOptions:
    """Read the options as pppd would for ``pppd [device] argv...``.

    Args:
        device: the device named by the caller (``/dev/ttyS1``, ``ttyS1``, a pyserial URL),
            treated like a leading command-line word; None if only ``argv`` or the files
            name one.
        argv: pppd's words from the command line.
        config_dir: where ``options``, ``options.<ttyname>`` and ``peers/`` live.
        home: the directory holding ``.ppprc``; None skips ``~/.ppprc`` (the shell passes
            the invoking user's home).
        privileged: whether the invoking user may use privileged options (pppd: root).
        extra: further words applied after ``argv`` (e.g. from :func:`design_flag_words`).

    Returns:
        The effective options with their sources.

    Raises:
        ConfigError: any option error (``exit_status`` 2), with the offending source.
    """
    reader = _Reader(config_dir=config_dir, privileged_user=privileged)
    system = reader.read_file(config_dir / "options", priv=True, must_exist=False)
    user: list[_Effect] = []
    if home is not None:
        user = reader.read_file(home / ".ppprc", priv=privileged, must_exist=False)
    words = command_line_words(([device] if device is not None else []) + list(argv))
    command_line = reader.interpret(words, priv=privileged)
    command_line += reader.interpret(extra, priv=privileged)
    # pppd: the command line is scanned for the device before options.<ttyname> is read,
    # and from then on the device name may not change (devnam_fixed).
    chosen = _last_value("device", [*system, *user, *command_line])
    tty: list[_Effect] = []
    tty_name = tty_options_name(chosen if isinstance(chosen, str) else None)
    if tty_name is not None:
        reader.device_fixed = True
        tty = reader.read_file(config_dir / tty_name, priv=True, must_exist=False)
    return _build([*system, *user, *tty, *command_line], reader.warnings)


def options_from_words(
    words: Sequence[Word], *, config_dir: Path = Path("/etc/ppp"), privileged: bool = True
) -> PppOptions:
    """Interpret one stream of words (no system files), e.g. ``parse_words(text, "x")``.

    Raises:
        ConfigError: any option error.
    """
    reader = _Reader(config_dir=config_dir, privileged_user=privileged)
    return _build(reader.interpret(words, priv=privileged), reader.warnings)


def _last_value(name: str, effects: Iterable[_Effect]) -> FieldValue | tuple[int, ...]:
    value: FieldValue | tuple[int, ...] = None
    for effect in effects:
        if effect.field == name:
            value = effect.value
    return value


def _build(effects: Iterable[_Effect], warnings: Sequence[str]) -> PppOptions:
    values: dict[str, object] = {}
    sources: dict[str, str] = {}
    noops: list[str] = []
    item_sources_of: dict[str, list[str]] = {}  # per kept address of the LAST_TWO fields
    for effect in effects:
        name = effect.field
        current = values.get(name, getattr(_DEFAULTS, name, None))
        match effect.op:
            case _Op.SET:
                values[name] = effect.value
            case _Op.OR:
                assert isinstance(current, int)
                assert isinstance(effect.value, int)
                values[name] = current | (effect.value & 0xFFFFFFFF)
            case _Op.INC:
                assert isinstance(current, int)
                assert isinstance(effect.value, int)
                values[name] = current + effect.value
            case _Op.UNION:
                assert isinstance(current, tuple)
                assert isinstance(effect.value, tuple)
                values[name] = tuple(sorted({*current, *effect.value}))
            case _Op.LAST_TWO:
                # pppd's setdnsaddr: the last two given are kept, second-last first.
                assert isinstance(current, tuple)
                kept = [*current, effect.value][-2:]
                values[name] = tuple(kept)
                item_sources = [*item_sources_of.get(name, []), effect.source][-2:]
                item_sources_of[name] = item_sources
                for index, item_source in enumerate(item_sources):
                    sources[f"{name}[{index}]"] = item_source
            case _Op.NOOP:
                assert isinstance(effect.value, str)
                if effect.value not in noops:
                    noops.append(effect.value)
                sources[f"noop:{effect.value}"] = effect.source
                continue
        sources[name] = effect.source
    unknown = set(values) - _FIELDS
    if unknown:  # pragma: no cover (the table is checked by the tests)
        raise AssertionError(f"option table names unknown fields {sorted(unknown)}")
    return PppOptions(
        **values,  # type: ignore[arg-type]  # values are typed by the table's kinds
        noops=tuple(noops),
        sources=MappingProxyType(sources),
        warnings=tuple(warnings),
    )


def design_flag_words(
    *,
    auth: str | None = None,
    user: str | None = None,
    password: str | None = None,
    windows: bool = False,
) -> list[Word]:
    """Turn ``pyppp serve|dial`` flags into pppd words (pass them as ``extra``).

    ``--auth pap`` -> ``auth require-pap``; ``chap`` -> ``auth require-chap``; ``login`` ->
    ``auth require-pap login``; ``none`` -> ``noauth``; ``--user NAME`` -> ``user NAME``
    (the name we authenticate as; ``name``, our local name for secrets lookup, stays a
    separate pppd option); ``--password PW`` -> ``password PW``; ``--windows`` ->
    ``windows``. Each word's source is the flag (``"--auth pap"``), so ``dump`` shows it.

    Raises:
        ConfigError: an unknown ``auth`` value.
    """
    words: list[Word] = []
    if auth is not None:
        mapping = {
            "pap": ["auth", "require-pap"],
            "chap": ["auth", "require-chap"],
            "login": ["auth", "require-pap", "login"],
            "none": ["noauth"],
        }
        if auth not in mapping:
            raise ConfigError(f"--auth must be one of pap, chap, login, none (not {auth!r})")
        words += [Word(w, f"--auth {auth}") for w in mapping[auth]]
    if user is not None:
        words += [Word("user", "--user"), Word(user, "--user")]
    if password is not None:
        words += [Word("password", "--password"), Word(password, "--password")]
    if windows:
        words.append(Word("windows", "--windows"))
    return words


# ---------------------------------------------------------------------------------------------
# dump


def dump(options: PppOptions) -> list[str]:
    r"""Render the options that were set, one line each, as pppd's ``dump`` option does.

    The first line is pppd's header ``pppd options in effect:``; then
    ``name value\t\t# (from source)`` per set option (pppd's layout: the word, its
    value, two tabs, the source). Passwords print as ``??????``, as in pppd.
    """
    lines = ["pppd options in effect:"]
    sources = options.sources
    for spec_field in (f.name for f in fields(PppOptions)):
        if spec_field in _BOOKKEEPING or spec_field not in sources:
            continue
        for text, source in _render(options, spec_field):
            lines.append(f"{text}\t\t# (from {source})")
    for word in options.noops:
        lines.append(f"{word}\t\t# (from {sources.get(f'noop:{word}', '?')})")
    return lines


def _render(options: PppOptions, name: str) -> Iterator[tuple[str, str]]:
    value = getattr(options, name)
    source = options.sources[name]
    if name in ("device", "speed"):
        yield str(value), source
    elif name == "local_ip":
        # One `local:remote` word sets both: print them together, as they were written.
        together = options.sources.get("remote_ip") == source
        yield f"{value}:{options.remote_ip if together else ''}", source
    elif name == "remote_ip":
        if options.sources.get("local_ip") != source:
            yield f":{value}", source
    elif name in ("ms_dns", "ms_wins"):
        for index, address in enumerate(value):
            yield (
                f"{name.replace('_', '-')} {address}",
                options.sources.get(f"{name}[{index}]", source),
            )
    elif name == "escape":
        yield "escape " + ",".join(f"{c:x}" for c in value), source
    elif name == "asyncmap":
        yield f"asyncmap {value:x}", source
    elif name == "debug":
        yield " ".join(["debug"] * value) if value > 0 else "debug 0", source
    elif name == "password":
        yield "password ??????", source
    else:
        spec = _primary_spec(name, value)
        if spec is None:
            return  # a side effect nobody asked for by name (nodetach cleared by updetach)
        if spec.kind is Kind.FLAG:
            yield spec.name, source
        elif isinstance(value, str):
            yield f"{spec.name} {_quote(value)}", source
        else:
            yield f"{spec.name} {value}", source


def _primary_spec(name: str, value: object) -> OptionSpec | None:
    for spec in OPTIONS:
        if spec.field == name and (spec.kind is not Kind.FLAG or spec.value == value):
            return spec
    return None


def _quote(text: str) -> str:
    """Quote like pppd's ``%q``: quote a string that would not read back as one word."""
    if text and all(ch.isprintable() and ch not in " \t\"'\\#" for ch in text):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f'"{escaped}"'


# ---------------------------------------------------------------------------------------------
# /etc/hosts


def parse_hosts_file(path: Path | str) -> dict[str, str]:
    """Read an ``/etc/hosts``-style file: host name (lower case) -> IPv4 address.

    The first line naming a host wins, as with the C library; IPv6 lines and malformed
    lines are skipped; a missing file gives an empty mapping.

    Raises:
        ConfigError: the file exists but cannot be read.
    """
    try:
        with open(path, "rb") as stream:  # plain open(): architecture.md
            text = stream.read(MAX_FILE_SIZE).decode("utf-8", "replace")
    except (FileNotFoundError, NotADirectoryError):
        return {}
    except OSError as exc:
        raise ConfigError(f"Can't read hosts file {path}: {exc.strerror or exc}") from None
    hosts: dict[str, str] = {}
    for line in text.splitlines():
        fields_ = line.split("#", 1)[0].split()
        if len(fields_) < 2:
            continue
        try:
            address = str(ipaddress.IPv4Address(fields_[0]))
        except ValueError:
            continue
        for name in fields_[1:]:
            hosts.setdefault(name.lower(), address)
    return hosts


def resolve_address(name_or_ip: str, hosts: Mapping[str, str]) -> str | None:
    """Resolve an address as written in an option: dotted quad, or a name in ``hosts``.

    Args:
        name_or_ip: ``"192.168.0.1"`` or ``"ppp_laplink_host"``.
        hosts: from :func:`parse_hosts_file` (names in lower case).

    Returns:
        The dotted-quad address, or None if the name is unknown.
    """
    try:
        return str(ipaddress.IPv4Address(name_or_ip))
    except ValueError:
        return hosts.get(name_or_ip.lower())
