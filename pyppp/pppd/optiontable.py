"""pppd's option words, one :class:`OptionSpec` per meaning (:data:`OPTIONS`).

Every pppd(8) word is here: ``supported`` words set a typed :class:`~pyppp.pppd.options.
PppOptions` field; ``noop`` words are accepted and recorded; ``unsupported`` words raise one
clear "not supported by pyppp" error. pyppp's own words are marked ``extension``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import Final

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
    IDENTIFIERS = "interface identifiers"  # ipv6 <local>,<remote> (either may be empty)
    APPEND = "append"  # one argument appended to a tuple `field` (allow-ip, allow-number)
    CHOICE = "choice"  # one of `choices` (mo-direction)
    NETMASK = "netmask"  # a dotted-quad netmask, checked as pppd's setnetmask
    ENV_SET = "set"  # NAME=VALUE for the scripts' environment (pppd's `set`)
    ENV_UNSET = "unset"  # NAME taken out of the scripts' environment (pppd's `unset`)
    UA_FILE = "user/password file"  # `+ua FILE`: user name and password from a file
    PRIVGROUP = "privgroup"  # members of a group may use privileged options
    LISTEN = "listen address"  # [HOST:]PORT to listen on (metrics)
    FILE = "file"  # read options from a file
    CALL = "call"  # read options from <config-dir>/peers/NAME
    DEFLATE = "deflate sizes"  # pppd's `deflate N[,M]`: the window we ask for, the one we allow
    NOOP = "noop"  # disables something pyppp never does: accepted and recorded
    NOOP_ARG = "noop with argument"  # the same with one argument (checked as `arg_kind`)
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
        arg_kind: for ``NOOP_ARG``: how the ignored argument is checked (``INT``, ``HEX`` or
            ``STRING``), so a typo is still an error as in pppd.
        choices: for ``CHOICE``: the accepted words.
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
    arg_kind: Kind | None = None
    choices: tuple[str, ...] = ()

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


def _noop_arg(
    name: str, help_text: str, arg_kind: Kind = Kind.STRING, *, aliases: tuple[str, ...] = ()
) -> OptionSpec:
    return OptionSpec(name, Kind.NOOP_ARG, help_text, aliases=aliases, arg_kind=arg_kind)


def _spec(
    name: str,
    kind: Kind,
    field_name: str,
    help_text: str,
    *,
    also: tuple[tuple[str, FieldValue], ...] = (),
    aliases: tuple[str, ...] = (),
    minimum: int | None = None,
    maximum: int | None = None,
    privileged: bool = False,
    choices: tuple[str, ...] = (),
) -> OptionSpec:
    return OptionSpec(
        name,
        kind,
        help_text,
        field_name,
        also=also,
        aliases=aliases,
        minimum=minimum,
        maximum=maximum,
        privileged=privileged,
        choices=choices,
    )


def _fsm_int(name: str, field_name: str, help_text: str) -> OptionSpec:
    """A pyppp word for one of CCP's RFC 1661 counters (pppd has none for CCP)."""
    return OptionSpec(name, Kind.INT, help_text, field_name, minimum=1, extension=True)


def _no(name: str, reason: str, *, aliases: tuple[str, ...] = ()) -> OptionSpec:
    return OptionSpec(name, Kind.UNSUPPORTED, reason, aliases=aliases)


_EAP_TLS: Final = "EAP-TLS/PEAP authentication is not implemented"
_EAP: Final = "EAP authentication is not implemented"
_BSD: Final = "BSD-Compress is not implemented: pyppp never asks for it nor uses it"
_PREDICTOR: Final = "Predictor-1 is not implemented: pyppp never asks for it nor uses it"
_MULTILINK: Final = "multilink PPP is not implemented"
_FILTER: Final = "packet filters (tcpdump expressions compiled by libpcap) are not implemented"
_ONLY_MULTILINK: Final = "only has an effect with multilink, which pyppp does not negotiate"
_IPX: Final = "IPX: pyppp never negotiates IPXCP (Linux dropped IPX in 4.18)"

OPTIONS: Final[tuple[OptionSpec, ...]] = (
    # -- files ----------------------------------------------------------------------------
    OptionSpec("file", Kind.FILE, "Take options from a file"),
    OptionSpec("call", Kind.CALL, "Take options from a privileged file in <config-dir>/peers"),
    # -- serial line (tty.c) --------------------------------------------------------------
    _flag("lock", "lock", "Lock serial device with UUCP-style lock file"),
    _flag("nolock", "lock", "Don't lock serial device", False, privileged=True),
    # pppd keeps crtscts, cdtrcts and xonxoff in one variable: the last of them wins.
    _flag("crtscts", "crtscts", "Set hardware (RTS/CTS) flow control", also=(("xonxoff", False),)),
    _flag(
        "nocrtscts",
        "crtscts",
        "Disable hardware flow control",
        False,
        aliases=("-crtscts", "nocdtrcts"),
        also=(("xonxoff", False),),
    ),
    _flag(
        "cdtrcts",
        "crtscts",
        "Set DTR/CTS flow control (Linux has none: as pppd there, the port is left as it is)",
        None,
        also=(("xonxoff", False),),
    ),
    _flag(
        "xonxoff",
        "xonxoff",
        "Set software (XON/XOFF) flow control",
        also=(("crtscts", None),),
    ),
    _flag("modem", "modem", "Use modem control lines"),
    _flag("local", "modem", "Don't use modem control lines", False),
    _str("connect", "connect", "A program to set up a connection", kind=Kind.COMMAND),
    _str("disconnect", "disconnect", "Program to disconnect serial device", kind=Kind.COMMAND),
    _str("init", "init", "A program to initialize the device", kind=Kind.COMMAND),
    _str("welcome", "welcome", "Script to welcome client", kind=Kind.COMMAND),
    _str("pty", "pty", "Script to run on pseudo-tty master side", kind=Kind.COMMAND),
    _flag("notty", "notty", "Input/output is not a tty"),
    _str("socket", "socket", "Send and receive over socket, arg is host:port"),
    _str("record", "record", "Record characters sent/received to file"),
    _int("stop-bits", "stop_bits", "Number of stop bits in serial port", minimum=1, maximum=2),
    _int("datarate", "datarate", "Maximum data rate in bytes/sec (with pty, notty or record)"),
    _int("connect-delay", "connect_delay", "Maximum time (in ms) to wait after connect script"),
    OptionSpec(
        "escape", Kind.ESCAPE, "List of character codes to escape on transmission", "escape"
    ),
    _no("sync", "synchronous HDLC needs a sync serial adapter and its kernel driver"),
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
    _flag(
        "lcp-echo-adaptive",
        "lcp_echo_adaptive",
        "Suppress LCP echo-requests if traffic was received",
    ),
    _flag("receive-all", "receive_all", "Accept all received control characters"),
    _no("-all", "'-all' (request and allow no LCP options: a debugging aid) is not implemented"),
    _no("lcp-rtt-file", "pppd 2.5's echo round-trip log is not implemented"),
    _noop("noendpoint", "pyppp never sends or accepts an endpoint discriminator"),
    _noop_arg("endpoint", _ONLY_MULTILINK),
    _noop_arg("mrru", _ONLY_MULTILINK, Kind.INT),
    _noop("mpshortseq", _ONLY_MULTILINK),
    _noop("nompshortseq", "pyppp never negotiates multilink"),
    # -- process control (options.c, main.c) ----------------------------------------------
    OptionSpec("debug", Kind.COUNT, "Increase debugging level", "debug", aliases=("-d",)),
    _noop_arg("kdebug", "sets the kernel PPP driver's debug flags; pyppp has none", Kind.INT),
    _flag("nodetach", "nodetach", "Don't detach from controlling tty", aliases=("-detach",)),
    _flag(
        "updetach",
        "updetach",
        "Detach from controlling tty once link is up",
        also=(("nodetach", False),),
    ),
    _flag(
        "up_sdnotify",
        "up_sdnotify",
        "Notify systemd once link is up (implies nodetach)",
        also=(("nodetach", True),),
    ),
    _noop("master_detach", _ONLY_MULTILINK),
    _flag("demand", "demand", "Dial on demand", also=(("persist", True),)),
    _flag("persist", "persist", "Keep on reopening connection after close"),
    _flag("nopersist", "persist", "Turn off persist option", False),
    _int("holdoff", "holdoff", "Set time in seconds before retrying connection"),
    _int("maxfail", "maxfail", "Maximum number of unsuccessful connection attempts to allow"),
    _int("idle", "idle", "Set time in seconds before disconnecting idle link"),
    _int("maxconnect", "maxconnect", "Set connection time limit"),
    # pppd has one log descriptor: logfile, logfd and nolog each replace what came before.
    _spec(
        "logfile",
        Kind.STRING,
        "logfile",
        "Append log messages to this file",
        also=(("logfd", None),),
    ),
    _spec(
        "logfd",
        Kind.INT,
        "logfd",
        "Send log messages to this file descriptor",
        also=(("logfile", None),),
        minimum=0,
    ),
    _flag(
        "nolog",
        "logfd",
        "Don't send log messages to any file",
        -1,
        aliases=("nologfd",),
        also=(("logfile", None),),
    ),
    _str("linkname", "linkname", "Set logical name for link", privileged=True),
    _str("ifname", "ifname", "Set PPP interface name", privileged=True),
    _int("unit", "unit", "PPP interface unit number to use if possible"),
    _flag("dump", "dump", "Print out option values after parsing all options"),
    _flag("dryrun", "dryrun", "Stop after parsing, printing, and checking options"),
    _str("ipparam", "ipparam", "Set ip script parameter"),
    _str("ip-up-script", "ip_up_script", "Set pathname of ip-up script", privileged=True),
    _str("ip-down-script", "ip_down_script", "Set pathname of ip-down script", privileged=True),
    _str(
        "ip-pre-up-script",
        "ip_pre_up_script",
        "Set pathname of ip-pre-up script",
        privileged=True,
    ),
    # pppd 2.5 (options.c, under PPP_WITH_IPV6CP): where ipv6-up/ipv6-down are.
    _str(
        "ipv6-up-script",
        "ipv6_up_script",
        "Set pathname of ipv6-up script",
        privileged=True,
    ),
    _str(
        "ipv6-down-script",
        "ipv6_down_script",
        "Set pathname of ipv6-down script",
        privileged=True,
    ),
    _str("auth-up-script", "auth_up_script", "Set pathname of auth-up script", privileged=True),
    _str(
        "auth-down-script",
        "auth_down_script",
        "Set pathname of auth-down script",
        privileged=True,
    ),
    _no("net-init-script", "pppd 2.5's net-init/net-pre-up/net-down scripts are not implemented"),
    _no("net-pre-up-script", "pppd 2.5's net-init/net-pre-up/net-down scripts are not implemented"),
    _no("net-down-script", "pppd 2.5's net-init/net-pre-up/net-down scripts are not implemented"),
    _no("vrf", "binding the interface to a VRF (pppd 2.5) is not implemented"),
    _no("show-options", "use 'pyppp serve --help' or 'pyppp dial --help'"),
    _str("domain", "domain", "Add given domain name to hostname", privileged=True),
    _flag("ktune", "ktune", "Alter kernel settings as necessary"),
    _flag("noktune", "ktune", "Don't alter kernel settings", False),
    _int(
        "child-timeout",
        "child_timeout",
        "Number of seconds to wait for child processes at exit",
    ),
    OptionSpec("set", Kind.ENV_SET, "Set user environment variable", "script_env"),
    OptionSpec("unset", Kind.ENV_UNSET, "Unset user environment variable", "script_env"),
    _int(
        "defaultroute-metric",
        "defaultroute_metric",
        "Metric to use for the default route (Linux only; -1 for default behavior)",
        minimum=-1,
    ),
    _no("multilink", _MULTILINK, aliases=("mp",)),
    _noop("nomultilink", "pyppp never negotiates multilink", aliases=("nomp",)),
    _noop_arg("bundle", _ONLY_MULTILINK),
    OptionSpec(
        "plugin",
        Kind.STRING,
        "Load a plugin: only radius.so, which is pyppp's built-in RADIUS (docs/dialin.md)",
        "plugin",
        privileged=True,
    ),
    OptionSpec(
        "privgroup",
        Kind.PRIVGROUP,
        "Allow group members to use privileged options",
        privileged=True,
    ),
    _no("pass-filter", _FILTER),
    _no("active-filter", _FILTER),
    _int("maxoctets", "maxoctets", "Set connection traffic limit", aliases=("mo",)),
    _spec(
        "mo-direction",
        Kind.CHOICE,
        "mo_direction",
        "Set direction for limit traffic (sum,in,out,max)",
        choices=("in", "out", "max", "inout", "sum"),
    ),
    _int("mo-timeout", "mo_timeout", "Check for traffic limit every N seconds", minimum=1),
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
    _flag(
        "refuse-mschap",
        "refuse_mschap",
        "Don't agree to auth to peer with MS-CHAP",
        aliases=("-mschap",),
    ),
    _flag(
        "refuse-mschap-v2",
        "refuse_mschap_v2",
        "Don't agree to auth to peer with MS-CHAPv2",
        aliases=("-mschap-v2",),
    ),
    _noop(
        "refuse-eap",
        "pyppp never authenticates with EAP",
    ),
    _flag(
        "require-mschap",
        "require_mschap",
        "Require MS-CHAP authentication from peer",
        aliases=("+mschap",),
        also=(("auth", True),),
    ),
    _flag(
        "require-mschap-v2",
        "require_mschap_v2",
        "Require MS-CHAPv2 authentication from peer",
        aliases=("+mschap-v2",),
        also=(("auth", True),),
    ),
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
    _int("chap-timeout", "chap_timeout", "Set timeout for CHAP (as client)", minimum=1),
    _flag(
        "chapms-strip-domain",
        "chapms_strip_domain",
        "Strip the domain prefix before the Username",
    ),
    _flag("papcrypt", "papcrypt", "PAP passwords are encrypted"),
    _flag("usehostname", "usehostname", "Must use hostname for authentication"),
    OptionSpec("+ua", Kind.UA_FILE, "Get PAP user and password from file"),
    _spec(
        "allow-ip",
        Kind.APPEND,
        "allow_ip",
        "Set IP address(es) which can be used without authentication",
        privileged=True,
    ),
    _spec(
        "allow-number",
        Kind.APPEND,
        "allow_number",
        "Set telephone number(s) which are allowed to connect",
        privileged=True,
    ),
    _str("remotenumber", "remotenumber", "Set remote telephone number for authentication"),
    _str("pap-secrets", "pap_secrets", "Set pathname of pap-secrets", privileged=True),
    _str("chap-secrets", "chap_secrets", "Set pathname of chap-secrets", privileged=True),
    _no(
        "enable-session",
        "session accounting for every peer (PAM account and session, wtmp) is not implemented; "
        "`login` does check PAM's account rules",
    ),
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
    _no("pkcs12", _EAP_TLS),
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
    _flag("novj", "vj", "Disable VJ compression", False, aliases=("-vj",)),
    _flag(
        "novjccomp",
        "vjccomp",
        "Disable VJ connection-ID compression",
        False,
        aliases=("-vjccomp",),
    ),
    _int("vj-max-slots", "vj_max_slots", "Set maximum VJ header slots", minimum=2, maximum=16),
    _flag("noip", "ip", "Disable IP and IPCP", False, aliases=("-ip",)),
    OptionSpec("netmask", Kind.NETMASK, "set netmask", "netmask"),
    _flag("usepeerwins", "usepeerwins", "Ask peer for WINS address(es)"),
    _flag("noresolvconf", "noresolvconf", "Don't write the peer's DNS servers to resolv.conf"),
    _flag("noremoteip", "noremoteip", "Allow peer to have no IP address"),
    _flag("nosendip", "nosendip", "Don't send our IP address to peer"),
    _flag("ipcp-no-address", "ipcp_no_address", "Disable IP-Address usage"),
    _flag("ipcp-no-addresses", "ipcp_no_addresses", "Disable IP-Addresses usage"),
    # -- IPv6CP (ipv6cp.c) ----------------------------------------------------------------
    _flag("+ipv6", "ipv6", "Enable IPv6 and IPv6CP"),
    _flag("noipv6", "ipv6", "Disable IPv6 and IPv6CP", False, aliases=("-ipv6",)),
    OptionSpec(
        "ipv6",
        Kind.IDENTIFIERS,
        "Set interface identifiers for IPV6",
        "ipv6_local",
        also=(("ipv6", True),),
    ),
    _flag(
        "ipv6cp-accept-local", "ipv6cp_accept_local", "Accept peer's interface identifier for us"
    ),
    _flag(
        "ipv6cp-accept-remote",
        "ipv6cp_accept_remote",
        "Accept peer's interface identifier for itself",
    ),
    _flag(
        "ipv6cp-use-ipaddr",
        "ipv6cp_use_ipaddr",
        "Use (default) IPv4 addresses for both local and remote interface identifiers",
    ),
    _flag(
        "ipv6cp-use-persistent",
        "ipv6cp_use_persistent",
        "Use uniquely-available persistent value for local interface identifier",
    ),
    _flag(
        "ipv6cp-use-remotenumber",
        "ipv6cp_use_remotenumber",
        "Use remotenumber value for remote interface identifier",
    ),
    _flag(
        "ipv6cp-noremote",
        "ipv6cp_noremote",
        "Allow peer to have no interface identifier",
    ),
    # pppd's code has "ipv6cp-nosend"; its man page calls it "ipv6cp-nosendip".
    _flag(
        "ipv6cp-nosend",
        "ipv6cp_nosend",
        "Don't send local interface identifier to peer",
        aliases=("ipv6cp-nosendip",),
    ),
    _int("ipv6cp-restart", "ipv6cp_restart", "Set timeout for IPv6CP", minimum=1),
    _int("ipv6cp-max-configure", "ipv6cp_max_configure", "Set max #xmits for conf-reqs", minimum=1),
    _int("ipv6cp-max-terminate", "ipv6cp_max_terminate", "Set max #xmits for term-reqs", minimum=1),
    _int("ipv6cp-max-failure", "ipv6cp_max_failure", "Set max #conf-naks for IPv6CP", minimum=1),
    _flag("defaultroute6", "defaultroute6", "Add default IPv6 route", privileged=True),
    # pppd 2.5.3 (ipv6cp.c): the defaultroute6's metric; pppd 2.4.9 has no such word.
    _int(
        "defaultroute6-metric",
        "defaultroute6_metric",
        "Metric to use for the default route (Linux only; default 0)",
        minimum=-1,
        privileged=True,
    ),
    _flag(
        "nodefaultroute6",
        "defaultroute6",
        "disable defaultroute6 option",
        False,
        aliases=("-defaultroute6",),
    ),
    # -- CCP (ccp.c) ----------------------------------------------------------------------
    _flag("noccp", "ccp", "Disable CCP negotiation", False, aliases=("-ccp",)),
    _spec("deflate", Kind.DEFLATE, "deflate_want", "request Deflate compression"),
    _flag(
        "nodeflate",
        "deflate_want",
        "don't allow Deflate compression",
        0,
        aliases=("-deflate",),
        also=(("deflate_allow", 0),),
    ),
    _flag(
        "nodeflatedraft",
        "deflate_draft",
        "don't use draft deflate #",
        False,
        aliases=("-deflatedraft",),
    ),
    _noop_arg("bsdcomp", _BSD),
    _noop("nobsdcomp", "pyppp never negotiates BSD-Compress", aliases=("-bsdcomp",)),
    _noop("predictor1", _PREDICTOR),
    _noop("nopredictor1", "pyppp never negotiates Predictor-1", aliases=("-predictor1",)),
    # pyppp's words for CCP's counters (pppd has them for LCP, IPCP and IPv6CP only).
    _fsm_int("ccp-restart", "ccp_restart", "Set timeout for CCP"),
    _fsm_int("ccp-max-configure", "ccp_max_configure", "Set max #xmits for conf-reqs"),
    _fsm_int("ccp-max-terminate", "ccp_max_terminate", "Set max #xmits for term-reqs"),
    _fsm_int("ccp-max-failure", "ccp_max_failure", "Set max #conf-naks for CCP"),
    # MPPE (ccp.c): pppd keeps the strengths as bits set and cleared in the order given.
    _flag(
        "require-mppe",
        "mppe_40",
        "require MPPE encryption",
        aliases=("+mppe",),
        also=(("mppe_128", True),),
    ),
    _flag(
        "nomppe",
        "mppe_40",
        "don't allow MPPE encryption",
        False,
        aliases=("-mppe",),
        also=(("mppe_128", False),),
    ),
    _flag("require-mppe-40", "mppe_40", "require MPPE 40-bit encryption", aliases=("+mppe-40",)),
    _flag(
        "nomppe-40", "mppe_40", "don't allow MPPE 40-bit encryption", False, aliases=("-mppe-40",)
    ),
    _flag(
        "require-mppe-128", "mppe_128", "require MPPE 128-bit encryption", aliases=("+mppe-128",)
    ),
    _flag(
        "nomppe-128",
        "mppe_128",
        "don't allow MPPE 128-bit encryption",
        False,
        aliases=("-mppe-128",),
    ),
    _flag("mppe-stateful", "mppe_stateful", "allow MPPE stateful mode"),
    _flag("nomppe-stateful", "mppe_stateful", "disallow MPPE stateful mode", False),
    # -- obsolete protocols: accepted and recorded, as they change nothing ----------------
    _noop("noipx", "pyppp never negotiates IPXCP", aliases=("-ipx",)),
    _no("ipx", _IPX, aliases=("+ipx",)),
    _noop_arg("ipx-network", _IPX, Kind.HEX),
    _noop_arg("ipx-node", _IPX),
    _noop_arg("ipx-router-name", _IPX),
    _noop_arg("ipx-routing", _IPX, Kind.INT),
    _noop("ipxcp-accept-network", _IPX),
    _noop("ipxcp-accept-local", _IPX),
    _noop("ipxcp-accept-remote", _IPX),
    _noop_arg("ipxcp-restart", _IPX, Kind.INT),
    _noop_arg("ipxcp-max-terminate", _IPX, Kind.INT),
    _noop_arg("ipxcp-max-configure", _IPX, Kind.INT),
    _noop_arg("ipxcp-max-failure", _IPX, Kind.INT),
    _noop("noecp", "pyppp never negotiates ECP (encryption control)", aliases=("-ecp",)),
    # -- pyppp extensions (not pppd words) ------------------------------------------------
    _flag(
        "windows",
        "windows",
        "Windows direct cable connection: CLIENT/CLIENTSERVER handshake before LCP",
        extension=True,
    ),
    _flag("nowindows", "windows", "No Windows direct-cable handshake", False, extension=True),
    _flag(
        "masquerade",
        "masquerade",
        "Share this host's other interfaces with the peer: NAT its IPv4 address (nftables)",
        privileged=True,
        extension=True,
    ),
    _flag("nomasquerade", "masquerade", "Do not masquerade the peer", False, extension=True),
    _flag(
        "adaptive-mtu",
        "adaptive_mtu",
        "Send smaller packets while the line damages frames, larger as it cleans (default)",
        extension=True,
    ),
    _flag(
        "noadaptive-mtu",
        "adaptive_mtu",
        "Always send packets of the negotiated size, however noisy the line",
        False,
        extension=True,
    ),
    _flag(
        "mppe-prefer-stateful",
        "mppe_prefer_stateful",
        "Ask for MPPE stateful mode (with mppe-stateful; pppd only ever accepts it)",
        extension=True,
    ),
    # -- a dial-in server (pyppp extensions; docs/dialin.md) -------------------------------
    OptionSpec(
        "ip-pool",
        Kind.STRING,
        "Hand each caller a free remote address from A-B (given back at hang-up)",
        "ip_pool",
        privileged=True,
        extension=True,
    ),
    # -- pppd's radius.so plugin's words (pyppp's built-in RADIUS; docs/dialin.md) ----------
    OptionSpec(
        "radius-config-file",
        Kind.STRING,
        "radiusclient.conf to use (default /etc/radiusclient/radiusclient.conf)",
        "radius_config_file",
        privileged=True,
        extension=True,
    ),
    OptionSpec(
        "avpair",
        Kind.APPEND,
        "Add the RADIUS attribute Name=Value to every request",
        "avpair",
        privileged=True,
        extension=True,
    ),
    _flag(
        "map-to-ttyname",
        "map_to_ttyname",
        "NAS-Port from the tty's number (ttyS3: 3) instead of the ppp unit",
        extension=True,
    ),
    _flag(
        "map-to-ifname",
        "map_to_ttyname",
        "NAS-Port from the ppp unit (the default)",
        False,
        extension=True,
    ),
    # -- observability (pyppp extensions; docs/observability.md) ---------------------------
    OptionSpec(
        "pcap",
        Kind.STRING,
        "Append every frame the link carries to a pcap file (PPP_WITH_DIR, for Wireshark)",
        "pcap",
        privileged=True,
        extension=True,
    ),
    OptionSpec(
        "metrics",
        Kind.LISTEN,
        "Serve Prometheus metrics on [HOST:]PORT (loopback unless a HOST is given)",
        "metrics",
        privileged=True,
        extension=True,
    ),
    _flag(
        "control", "control", "Answer pyppp status on a control socket (default)", extension=True
    ),
    _flag(
        "nocontrol",
        "control",
        "No control socket: pyppp status does not see this link",
        False,
        extension=True,
    ),
)
"""Every option word pyppp knows, one entry per meaning (aliases inside the entry)."""

OPTION_WORDS: Final[Mapping[str, OptionSpec]] = MappingProxyType(
    {word: spec for spec in OPTIONS for word in spec.words}
)
"""Option word (canonical or alias) -> its :class:`OptionSpec`."""
