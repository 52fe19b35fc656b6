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
  options file (there is no tty name to key it on); neither does "no device" (the terminal
  on standard input, as pppd: the shell fills that in, ``pyppp.cli.pppd``).
* **Privilege**, as pppd: ``options``, ``options.<ttyname>`` and ``call`` files are
  privileged sources; ``~/.ppprc``, the command line and ``file`` (which inherits the
  privilege of the file that names it) are privileged only when pyppp runs as root
  (``privileged=True``, the default; the shell passes ``os.geteuid() == 0``).
* **Unsupported options fail.** Every word of pppd 2.4.9 is in
  :data:`~pyppp.pppd.optiontable.OPTIONS`: ``supported`` words set a typed field (``demand``,
  ``pty``, ``notty``, ``noccp``, ``novj``, ``require-mschap-v2``... all work);
  ``noop`` words name what pyppp never does and need not (``noipx`` and the ``ipx-*``
  family, ``kdebug``, ``nomultilink``, ``bsdcomp``, ``predictor1``...): they are recorded
  and listed as no-ops by ``dump``; ``unsupported`` words (``sync``, ``multilink``,
  ``active-filter``/``pass-filter``, the EAP and TLS words...) raise one clear "not supported
  by pyppp (reason)" :class:`~pyppp.errors.ConfigError` (exit status 2), never a silent
  ignore, and so does a ``plugin`` other than ``radius.so`` (pppd's C plugins cannot load).
  pyppp's own words (``windows``, ``masquerade``...) are marked ``extension``.
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
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from enum import Enum
from pathlib import Path
from types import MappingProxyType
from typing import Final, NamedTuple

from pyppp.errors import ConfigError
from pyppp.pppd.optiontable import OPTION_WORDS, FieldValue, Kind, OptionSpec
from pyppp.pppd.pool import check_server_words
from pyppp.pppd.values import (
    TYPOGRAPHIC,
    asciify,
    check_command,
    check_host,
    check_range,
    device_path,
    is_device_word,
    parse_deflate,
    parse_escape,
    parse_identifiers,
    parse_int,
    parse_listen_address,
    tty_options_name,
)
from pyppp.pppd.words import Word, command_line_words, parse_words

MAX_FILE_SIZE: Final = 1 << 20
"""An options file larger than this is refused rather than read into memory."""

MAX_NESTING: Final = 16
"""How deep ``file``/``call`` may nest (pppd has no limit and would run out of stack)."""

MAX_UA_FILE_SIZE: Final = 4096
"""``+ua`` reads a user name and a password (pppd reads two lines of at most 255 bytes)."""

FileReader = Callable[[Path, int], bytes]
"""Reads at most ``limit`` bytes of a file; raises :class:`OSError` as ``open()`` would.

The core reads no files itself: the shell passes :func:`pyppp.aio.files.read_limited`.
"""

GroupCheck = Callable[[str], bool]
"""Whether the invoking user is a member of the named group (for ``privgroup``)."""


def _no_files(path: Path, limit: int) -> bytes:
    raise FileNotFoundError(2, "no file reader was given", str(path))


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
        noop_args: for the no-ops that take an argument (``ipx-network 10``): word -> the
            last argument given.
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
    welcome: str | None = None
    pty: str | None = None  # the line is this command's stdin/stdout (a pty for it)
    notty: bool = False  # the line is our own stdin/stdout
    socket: str | None = None  # host:port to connect to, or :port to listen on
    record: str | None = None  # pppdump(8) record of the line
    stop_bits: int = 1
    datarate: int = 0  # bytes/s the pty/notty/record shunt may pass (0: no limit)
    connect_delay: int = 1000  # milliseconds
    asyncmap: int = 0
    default_asyncmap: bool = False
    escape: tuple[int, ...] = ()
    # Process control
    debug: int = 0
    nodetach: bool = False
    updetach: bool = False
    up_sdnotify: bool = False
    demand: bool = False
    persist: bool = False
    holdoff: int = 30
    maxfail: int = 10
    idle: int = 0
    maxconnect: int = 0
    logfile: str | None = None
    logfd: int | None = None  # None: standard output while in the foreground; -1: nolog
    linkname: str | None = None
    ifname: str | None = None
    unit: int | None = None
    dump: bool = False
    dryrun: bool = False
    ipparam: str | None = None
    ip_up_script: str | None = None  # None: <config-dir>/ip-up
    ip_down_script: str | None = None
    ip_pre_up_script: str | None = None
    ipv6_up_script: str | None = None  # None: <config-dir>/ipv6-up
    ipv6_down_script: str | None = None
    auth_up_script: str | None = None  # None: <config-dir>/auth-up
    auth_down_script: str | None = None
    domain: str | None = None
    ktune: bool = False
    child_timeout: int = 5
    script_env: tuple[tuple[str, str | None], ...] = ()  # set NAME=VALUE / unset NAME
    defaultroute_metric: int = -1
    maxoctets: int = 0
    mo_direction: str = "inout"
    mo_timeout: int = 1
    privgroup: str | None = None
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
    lcp_echo_adaptive: bool = False
    receive_all: bool = False
    # Authentication (RFC 1334 PAP, RFC 1994 CHAP, RFC 2433 MS-CHAP, RFC 2759 MS-CHAPv2)
    auth: bool | None = None  # None: pppd's default (require auth if there is a default route)
    require_pap: bool = False
    require_chap: bool = False
    require_mschap: bool = False
    require_mschap_v2: bool = False
    refuse_pap: bool = False
    refuse_chap: bool = False
    refuse_mschap: bool = False
    refuse_mschap_v2: bool = False
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
    chap_timeout: int = 60
    chapms_strip_domain: bool = False
    papcrypt: bool = False
    usehostname: bool = False
    allow_ip: tuple[str, ...] = ()
    allow_number: tuple[str, ...] = ()
    remotenumber: str | None = None
    pap_secrets: str | None = None  # None: <config-dir>/pap-secrets
    chap_secrets: str | None = None  # None: <config-dir>/chap-secrets
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
    # MPPE (RFC 3078): the strengths require-mppe* asks for, and mppe-stateful
    mppe_40: bool = False
    mppe_128: bool = False
    mppe_stateful: bool = False
    mppe_prefer_stateful: bool = False  # pyppp: ask for stateful mode ourselves
    ip: bool = True  # False after `noip`
    # IPv6CP (RFC 5072): on by default, as in pppd >= 2.4.9
    ipv6: bool = True
    ipv6_local: str | None = None  # identifiers of `ipv6 <local>,<remote>`, as "::1"
    ipv6_remote: str | None = None
    ipv6cp_accept_local: bool = False
    ipv6cp_accept_remote: bool = False
    ipv6cp_use_ipaddr: bool = False
    ipv6cp_use_persistent: bool = False
    ipv6cp_use_remotenumber: bool = False  # pppd 2.5
    ipv6cp_noremote: bool = False
    ipv6cp_nosend: bool = False
    ipv6cp_restart: int = 3
    ipv6cp_max_configure: int = 10
    ipv6cp_max_terminate: int = 2
    ipv6cp_max_failure: int = 5
    defaultroute6: bool = False
    defaultroute6_metric: int = 0  # pppd 2.5.3: the route's RTA_PRIORITY, unsigned (-1: 2**32-1)
    # CCP (RFC 1962) with Deflate (RFC 1979): on with window 15 both ways, as in pppd
    ccp: bool = True
    deflate_want: int = 15  # `deflate N[,M]`: N, the window we ask for (0: none)
    deflate_allow: int = 15  # M, the largest the peer may ask for (0: refuse Deflate)
    deflate_draft: bool = True
    ccp_restart: int = 3
    ccp_max_configure: int = 10
    ccp_max_terminate: int = 2
    ccp_max_failure: int = 5
    netmask: str | None = None
    usepeerwins: bool = False
    noresolvconf: bool = False
    noremoteip: bool = False
    nosendip: bool = False
    ipcp_no_address: bool = False
    ipcp_no_addresses: bool = False
    vj: bool = True  # pppd negotiates VJ both ways unless novj
    vjccomp: bool = True
    vj_max_slots: int = 16
    # pyppp extensions
    windows: bool = False
    masquerade: bool = False
    adaptive_mtu: bool = True  # pyppp.framesize: the send size follows the line's errors
    ip_pool: str | None = None  # A-B, as written (pyppp.pppd.pool)
    plugin: str | None = None  # only radius.so
    radius_config_file: str | None = None
    avpair: tuple[str, ...] = ()
    map_to_ttyname: bool = False
    # Observability (pyppp extensions)
    control: bool = True  # the control socket for `pyppp status`
    metrics: str | None = None  # [HOST:]PORT for Prometheus, as written
    pcap: str | None = None
    # Bookkeeping
    noops: tuple[str, ...] = ()
    noop_args: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    sources: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    warnings: tuple[str, ...] = ()


BOOKKEEPING: Final = frozenset({"noops", "noop_args", "sources", "warnings"})
_FIELDS: Final = {f.name for f in fields(PppOptions)} - BOOKKEEPING
_DEFAULTS: Final = PppOptions()


# ---------------------------------------------------------------------------------------------
# Interpretation: words -> effects -> PppOptions


class _Op(Enum):
    SET = "set"
    OR = "or"
    INC = "inc"
    UNION = "union"
    LAST_TWO = "last two"
    APPEND = "append"
    ENV = "env"
    NOOP = "noop"


class _EnvChange(NamedTuple):
    name: str
    value: str | None  # None: unset
    privileged: bool


class _NoopArgument(NamedTuple):
    word: str
    argument: str


_EffectValue = FieldValue | tuple[int, ...] | _EnvChange | _NoopArgument


class _Effect(NamedTuple):
    field: str
    op: _Op
    value: _EffectValue
    source: str


@dataclass
class _Reader:
    """Turns word streams into effects; follows ``file``/``call``; knows the privileges."""

    config_dir: Path
    privileged_user: bool
    read_bytes: FileReader = _no_files
    in_group: GroupCheck | None = None
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
            data = self.read_bytes(path, MAX_FILE_SIZE + 1)
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
        effects = self._main_effects(spec, word, argument, priv=priv)
        # Side effects follow the main one (require-pap also sets auth; logfd clears logfile).
        effects.extend(_Effect(f, _Op.SET, v, word.source) for f, v in spec.also)
        return effects

    def _main_effects(
        self, spec: OptionSpec, word: Word, argument: Word | None, *, priv: bool
    ) -> list[_Effect]:
        where = word.source
        arg = argument.text if argument is not None else ""
        target = spec.field or ""
        match spec.kind:
            case Kind.FLAG:
                return [_Effect(target, _Op.SET, spec.value, where)]
            case Kind.COUNT:
                return [_Effect(target, _Op.INC, 1, where)]
            case Kind.INT:
                value = parse_int(arg, spec.name, where, base=0)
                check_range(spec, value, where)
                return [_Effect(target, _Op.SET, value, where)]
            case Kind.HEX:
                return [_Effect(target, _Op.OR, parse_int(arg, spec.name, where, base=16), where)]
            case Kind.STRING:
                return [_Effect(target, _Op.SET, arg, where)]
            case Kind.COMMAND:
                check_command(spec.name, arg, where)
                return [_Effect(target, _Op.SET, arg, where)]
            case Kind.ESCAPE:
                return [_Effect(target, _Op.UNION, parse_escape(arg, where), where)]
            case Kind.DEFLATE:
                want, allow, warning = parse_deflate(arg, where)
                if warning:
                    self.warnings.append(warning)
                return [
                    _Effect("deflate_want", _Op.SET, want, where),
                    _Effect("deflate_allow", _Op.SET, allow, where),
                ]
            case Kind.ADDRESS_LIST:
                check_host(arg, spec.name, where)
                return [_Effect(target, _Op.LAST_TWO, arg, where)]
            case Kind.LISTEN:
                parse_listen_address(arg, spec.name, where)
                return [_Effect(target, _Op.SET, arg, where)]
            case Kind.IDENTIFIERS:
                local, remote = parse_identifiers(arg, where)
                return [
                    *(_Effect(f, _Op.SET, v, where) for f, v in spec.also),
                    *([_Effect("ipv6_local", _Op.SET, local, where)] if local else []),
                    *([_Effect("ipv6_remote", _Op.SET, remote, where)] if remote else []),
                ]
            case Kind.APPEND:
                if not arg:
                    raise ConfigError(f"empty argument for option '{spec.name}'", source=where)
                return [_Effect(target, _Op.APPEND, arg, where)]
            case Kind.CHOICE:
                if arg not in spec.choices:
                    raise ConfigError(
                        f"invalid {spec.name} value '{arg}' (one of {', '.join(spec.choices)})",
                        source=where,
                    )
                return [_Effect(target, _Op.SET, arg, where)]
            case Kind.NETMASK:
                return [_Effect(target, _Op.SET, _netmask(arg, where), where)]
            case Kind.ENV_SET | Kind.ENV_UNSET:
                change = _environment_change(spec, arg, priv, where)
                return [_Effect(target, _Op.ENV, change, where)]
            case Kind.UA_FILE:
                return self._user_file(Path(arg), where)
            case Kind.PRIVGROUP:
                # pppd setprivgroup: a member may use privileged options from now on.
                if self.in_group is not None and self.in_group(arg):
                    self.privileged_user = True
                return [_Effect("privgroup", _Op.SET, arg, where)]
            case Kind.NOOP_ARG:
                _check_noop_argument(spec, arg, where)
                return [_Effect("noops", _Op.NOOP, _NoopArgument(spec.name, arg), where)]
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

    def _user_file(self, path: Path, where: str) -> list[_Effect]:
        """Read pppd's ``+ua FILE``: the user name on line 1, the password on line 2."""
        try:
            data = self.read_bytes(path, MAX_UA_FILE_SIZE + 1)
        except OSError:
            raise ConfigError(f"unable to open user login data file {path}", source=where) from None
        lines = data[:MAX_UA_FILE_SIZE].decode("utf-8", "surrogateescape").split("\n")
        if len(lines) < 2 or len(data) > MAX_UA_FILE_SIZE:
            raise ConfigError(f"unable to read user login data file {path}", source=where)
        user, password = lines[0].rstrip("\r"), lines[1].rstrip("\r")
        if "\0" in user + password or any("\udc80" <= ch <= "\udcfff" for ch in user + password):
            # Not _check_word: its message would show the password.
            raise ConfigError(f"unable to read user login data file {path}", source=where)
        return [
            _Effect("user", _Op.SET, user, where),
            _Effect("password", _Op.SET, password, where),
        ]

    def _wild(self, word: Word, previous: tuple[OptionSpec, str] | None) -> list[_Effect]:
        """Interpret pppd's ``o_wild`` options: device name, speed, ``local:remote``."""
        text, where = word.text, word.source
        if is_device_word(text):
            if self.device_fixed:
                raise ConfigError(
                    f"the device name ({text}) may not be changed in {where.rsplit(':', 1)[0]}",
                    source=where,
                )
            return [_Effect("device", _Op.SET, device_path(text), where)]
        if text.isascii() and text.isdigit():
            speed = int(text)
            if speed <= 0:
                raise ConfigError(f"invalid speed {text}", source=where)
            return [_Effect("speed", _Op.SET, speed, where)]
        if ":" in text and text.isascii():
            local, remote = text.split(":", 1)
            effects = []
            if local:
                check_host(local, "local IP address", where, check_bad=True)
                effects.append(_Effect("local_ip", _Op.SET, local, where))
            if remote:
                check_host(remote, "remote IP address", where, check_bad=True)
                effects.append(_Effect("remote_ip", _Op.SET, remote, where))
            return effects
        raise ConfigError(_unrecognized(text, previous), source=where)


def _netmask(text: str, where: str) -> str:
    """Check a netmask as pppd's ``setnetmask``: a dotted quad; the last one given counts.

    (pppd also refuses a mask that drops bits of an earlier one; on Linux it then forces
    255.255.255.255 on the interface anyway, so pyppp records the value and keeps the last.)
    """
    try:
        mask = ipaddress.IPv4Address(text)
    except ValueError:
        raise ConfigError(f"invalid netmask value '{text}'", source=where) from None
    return str(mask)


def _environment_change(spec: OptionSpec, arg: str, priv: bool, where: str) -> _EnvChange:
    """Check ``set NAME=VALUE`` / ``unset NAME`` as pppd's user_setenv/user_unsetenv."""
    if spec.kind is Kind.ENV_SET:
        name, equals, value = arg.partition("=")
        if not equals:
            raise ConfigError(f"missing = in name=value: {arg}", source=where)
        if not name:
            raise ConfigError(f"missing variable name: {arg}", source=where)
        return _EnvChange(name, value, priv)
    if "=" in arg:
        raise ConfigError(f"unexpected = in name: {arg}", source=where)
    if not arg:
        raise ConfigError("missing variable name for unset", source=where)
    return _EnvChange(arg, None, priv)


def _check_noop_argument(spec: OptionSpec, arg: str, where: str) -> None:
    """Check the argument of a no-op as pppd would, so a typo is still an error."""
    if spec.arg_kind is Kind.INT:
        parse_int(arg, spec.name, where, base=0)
    elif spec.arg_kind is Kind.HEX:
        parse_int(arg, spec.name, where, base=16)


def _unrecognized(text: str, previous: tuple[OptionSpec, str] | None) -> str:
    message = f"unrecognized option '{text}'"
    odd = next((ch for ch in text if not ch.isascii()), None)
    if odd is not None:
        name = unicodedata.name(odd, f"U+{ord(odd):04X}")
        label = f"U+{ord(odd):04X} {name}"
        suggestion = asciify(text)
        if odd in TYPOGRAPHIC:
            message += (
                f": it contains {label} where pppd needs an ASCII "
                f"{TYPOGRAPHIC[odd]!r} (text copied from a PDF or web page?)"
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


# ---------------------------------------------------------------------------------------------
# Entry points


def load_options(
    device: str | None,
    argv: Sequence[str],
    *,
    read_file: FileReader,
    config_dir: Path = Path("/etc/ppp"),
    home: Path | None = None,
    privileged: bool = True,
    in_group: GroupCheck | None = None,
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
        read_file: reads the files (the shell passes :func:`pyppp.aio.files.read_limited`).
        privileged: whether the invoking user may use privileged options (pppd: root).
        in_group: for ``privgroup``: whether the invoking user is in a group.
        extra: further words applied after ``argv`` (e.g. from :func:`design_flag_words`).

    Returns:
        The effective options with their sources.

    Raises:
        ConfigError: any option error (``exit_status`` 2), with the offending source.
    """
    reader = _Reader(
        config_dir=config_dir, privileged_user=privileged, read_bytes=read_file, in_group=in_group
    )
    system = reader.read_file(config_dir / "options", priv=True, must_exist=False)
    # `privgroup` in the system file makes the user privileged for what follows.
    user: list[_Effect] = []
    if home is not None:
        user = reader.read_file(home / ".ppprc", priv=reader.privileged_user, must_exist=False)
    words = command_line_words(([device] if device is not None else []) + list(argv))
    command_line = reader.interpret(words, priv=reader.privileged_user)
    command_line += reader.interpret(extra, priv=reader.privileged_user)
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
    words: Sequence[Word],
    *,
    config_dir: Path = Path("/etc/ppp"),
    privileged: bool = True,
    read_file: FileReader = _no_files,
) -> PppOptions:
    """Interpret one stream of words (no system files), e.g. ``parse_words(text, "x")``.

    Args:
        words: the words.
        config_dir: where ``call`` looks.
        privileged: whether privileged options are allowed.
        read_file: reads ``file``/``call``/``+ua`` targets (by default none can be read).

    Raises:
        ConfigError: any option error.
    """
    reader = _Reader(config_dir=config_dir, privileged_user=privileged, read_bytes=read_file)
    return _build(reader.interpret(words, priv=privileged), reader.warnings)


def _last_value(name: str, effects: Iterable[_Effect]) -> _EffectValue:
    value: _EffectValue = None
    for effect in effects:
        if effect.field == name:
            value = effect.value
    return value


def _build(effects: Iterable[_Effect], warnings: Sequence[str]) -> PppOptions:
    values: dict[str, object] = {}
    sources: dict[str, str] = {}
    noops: list[str] = []
    noop_args: dict[str, str] = {}
    environment: dict[str, tuple[str | None, bool]] = {}
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
            case _Op.APPEND:
                assert isinstance(current, tuple)
                values[name] = (*current, effect.value)
            case _Op.ENV:
                assert isinstance(effect.value, _EnvChange)
                variable, setting, privileged = effect.value
                earlier = environment.get(variable)
                # pppd: an unprivileged source cannot override a privileged set/unset.
                if earlier is not None and earlier[1] and not privileged:
                    continue
                environment[variable] = (setting, privileged)  # keeps its place
                values[name] = tuple((k, v) for k, (v, _) in environment.items())
            case _Op.NOOP:
                if isinstance(effect.value, _NoopArgument):
                    word, argument = effect.value
                    noop_args[word] = argument
                else:
                    word = str(effect.value)
                if word not in noops:
                    noops.append(word)
                sources[f"noop:{word}"] = effect.source
                continue
        sources[name] = effect.source
    unknown = set(values) - _FIELDS
    if unknown:  # pragma: no cover (the table is checked by the tests)
        raise AssertionError(f"option table names unknown fields {sorted(unknown)}")
    return PppOptions(
        **values,  # type: ignore[arg-type]  # values are typed by the table's kinds
        noops=tuple(noops),
        noop_args=MappingProxyType(noop_args),
        sources=MappingProxyType(sources),
        warnings=tuple(warnings),
    )


def check_options(options: PppOptions) -> None:
    """Run pppd's consistency checks once every option is read (``tty_check_options``).

    Raises:
        ConfigError: pppd's message for the combination, with exit status 2.
    """
    channels = [name for name in ("socket", "notty", "pty") if getattr(options, name)]
    if options.demand and options.notty:
        raise ConfigError("demand-dialling is incompatible with notty")
    if options.demand and not (options.connect or options.pty or options.socket):
        raise ConfigError("connect script is required for demand-dialling")
    if channels:
        if options.device is not None:
            raise ConfigError(
                f"{channels[0]} option precludes specifying device name",
                source=options.sources.get("device"),
            )
        if options.pty and options.notty:
            raise ConfigError("pty option is incompatible with notty option")
        if options.socket and (options.pty or options.notty):
            raise ConfigError("socket option is incompatible with pty and notty")
    check_server_words(options)  # plugin radius.so, its words, ip-pool
