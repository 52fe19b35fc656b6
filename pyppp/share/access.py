"""Who may use a shared modem: tcp-wrappers style access rules, sans-IO.

The Linux Modem-sharing mini-HOWTO warns that anybody who can reach the modem daemon can dial
long distance. ``pyppp share`` therefore grants loopback only unless told otherwise, and
understands the ``hosts.allow``/``hosts.deny`` files (hosts_access(5)) for its service name
``pyppp-share``:

* :func:`parse_hosts_file` reads the rules (the subset without DNS lookups) into
  :class:`HostsRule` values; :func:`load_hosts_file` turns what a :data:`ReadFile` callable
  makes of a path into rules, with tcpd's rules for a missing or unreadable file. The shell
  passes the callable that really reads (off its event loop, for every connection, as tcpd
  does); this module never opens a file.
* :class:`AccessPolicy` decides about one client address: ``--deny``, then the hosts files,
  then ``--allow``, else refuse.
* :func:`peer_of` turns a socket's peer name into the address the policy judges and the label
  log lines use.

No sockets, no files and no clock: the shell (:mod:`pyppp.aio.share_server`) asks, this module
answers.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final, TypeAlias

__all__ = [
    "LOOPBACK",
    "SERVICE_NAME",
    "AccessPolicy",
    "HostsRule",
    "IPAddress",
    "IPNetwork",
    "ReadFile",
    "load_hosts_file",
    "parse_hosts_file",
    "peer_of",
    "unmap_address",
]

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
ReadFile: TypeAlias = Callable[[Path], bytes]
"""How the shell reads a file: ``Path.read_bytes`` or a stand-in (raises ``OSError``)."""

SERVICE_NAME: Final = "pyppp-share"
"""The daemon name ``pyppp share`` answers to in hosts files (and in syslog)."""
LOOPBACK: Final[tuple[IPNetwork, ...]] = (
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
)
"""The default ``--allow`` networks: this host only."""

# The shell's logger, so that warnings about hosts files read as the server's own lines.
_log = logging.getLogger("pyppp.share")


@dataclasses.dataclass(frozen=True, slots=True)
class HostsRule:
    """One ``daemon_list : client_list [: option ...]`` line of ``hosts.allow``/``hosts.deny``.

    Attributes:
        daemons: the daemon list's words, ``EXCEPT`` included.
        clients: the client list's words, ``EXCEPT`` included.
        verdict: ``True``/``False`` when the line carries an ``allow``/``deny`` option (the
            hosts_options(5) form), ``None`` for the file's own meaning.
        source: ``path:line`` for log lines.
    """

    daemons: tuple[str, ...]
    clients: tuple[str, ...]
    verdict: bool | None
    source: str

    def matches(self, service: str, address: IPAddress) -> bool:
        """Return whether this rule applies to ``service`` and the client ``address``."""
        return _list_match(self.daemons, lambda w: _daemon_match(w, service)) and _list_match(
            self.clients, lambda w: _client_match(w, address)
        )


def _list_match(words: Sequence[str], match: Callable[[str], bool]) -> bool:
    # tcpd's list_match(): the first word that matches decides, unless an EXCEPT list that
    # follows it also matches; "a EXCEPT b EXCEPT c" reads "a EXCEPT (b EXCEPT c)".
    for i, word in enumerate(words):
        if word.upper() == "EXCEPT":
            return False
        if match(word):
            rest = list(words[i + 1 :])
            while rest and rest[0].upper() != "EXCEPT":
                rest.pop(0)
            return not (rest and _list_match(rest[1:], match))
    return False


def _daemon_match(word: str, service: str) -> bool:
    return word.upper() == "ALL" or word.split("@", 1)[0].lower() == service.lower()


def _client_match(word: str, address: IPAddress) -> bool:
    upper = word.upper()
    if upper == "ALL":
        return True
    if upper == "LOCAL":
        return address.is_loopback
    if word.endswith(".") and word[:-1].replace(".", "").isdigit():
        return isinstance(address, ipaddress.IPv4Address) and str(address).startswith(word)
    network = _parse_pattern_network(word)
    return network is not None and address in network


def _parse_pattern_network(word: str) -> IPNetwork | None:
    text = word
    if text.startswith("["):  # [3ffe:505:2:1::]/64
        text = text[1:].replace("]", "", 1)
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def _supported_client_word(word: str) -> bool:
    return (
        word.upper() in {"ALL", "LOCAL", "EXCEPT"}
        or (word.endswith(".") and word[:-1].replace(".", "").isdigit())
        or _parse_pattern_network(word) is not None
    )


def _split_fields(line: str) -> list[str]:
    # Split on ':' except inside [IPv6] brackets.
    fields, depth, start = [], 0, 0
    for i, char in enumerate(line):
        if char == "[":
            depth += 1
        elif char == "]":
            depth = max(0, depth - 1)
        elif char == ":" and depth == 0:
            fields.append(line[start:i])
            start = i + 1
    fields.append(line[start:])
    return fields


def _words(field: str) -> tuple[str, ...]:
    return tuple(field.replace(",", " ").split())


def parse_hosts_file(text: str, source: str, *, logger: logging.Logger = _log) -> list[HostsRule]:
    r"""Parse ``hosts.allow``/``hosts.deny`` text (hosts_access(5)), the subset pyppp supports.

    Supported: ``#`` comment lines, ``\`` line continuation, daemon lists of ``ALL`` and
    service names (``pyppp-share``; ``name@host`` compares the name only), client lists of
    ``ALL``, ``LOCAL`` (here: a loopback address, since no names are looked up), addresses,
    ``n.n.n.`` prefixes, ``net/mask``, ``net/prefix`` and ``[v6net]/prefix``, and ``EXCEPT``
    in both lists; a trailing ``allow`` or ``deny`` option (hosts_options(5)). Not supported,
    and logged once per parse: host names and ``.domain`` patterns (no DNS lookups),
    ``KNOWN``/``UNKNOWN``/``PARANOID``, ``@netgroup``, ``user@host``, wildcards and ``/file``
    lists; they never match. Other options (``spawn``, ``twist``, ...) are ignored.

    Args:
        text: the file's content.
        source: the file's path, for log lines.
        logger: where to warn about unsupported words and malformed lines.

    Returns:
        The rules in file order.
    """
    rules: list[HostsRule] = []
    pending = ""
    first_line = 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not pending:
            first_line = number
        if raw.endswith("\\"):
            pending += raw[:-1] + " "
            continue
        line, pending = (pending + raw).strip(), ""
        if not line or line.startswith("#"):
            continue
        where = f"{source}:{first_line}"
        fields = _split_fields(line)
        if len(fields) < 2:
            logger.warning("%s: missing ':' separator; line ignored", where)
            continue
        daemons, clients = _words(fields[0]), _words(fields[1])
        verdict: bool | None = None
        for option in fields[2:]:
            keyword = option.strip().lower()
            if keyword in {"allow", "deny"}:
                verdict = keyword == "allow"
            elif keyword:
                logger.debug("%s: option %r ignored", where, keyword)
        for word in clients:
            if not _supported_client_word(word):
                logger.warning(
                    "%s: client pattern %r is not supported; it never matches", where, word
                )
        rules.append(HostsRule(daemons, clients, verdict, where))
    return rules


def load_hosts_file(
    path: Path, read: ReadFile, *, logger: logging.Logger = _log
) -> tuple[HostsRule, ...]:
    """Read (through ``read``) and parse one ``hosts.allow``/``hosts.deny`` file.

    tcpd reads the files for every connection, so an edit takes effect at the next call; the
    shell calls this per connection too.

    Args:
        path: the file.
        read: what reads it (the shell's ``Path.read_bytes``, run off the event loop).
        logger: where to report an unreadable file and the parser's warnings.

    Returns:
        The rules in file order; none for a missing file (tcpd: a missing file has no rules)
        and none, after one error line, for a file that cannot be read.
    """
    try:
        content = read(path)
    except FileNotFoundError:
        return ()
    except OSError as exc:
        logger.error("Can't read %s: %s", path, exc.strerror)
        return ()
    text = content.decode("utf-8", errors="replace")  # bad UTF-8 is no error (tcpd: bytes)
    return tuple(parse_hosts_file(text, str(path), logger=logger))


def unmap_address(address: IPAddress) -> IPAddress:
    """Return the IPv4 address inside an IPv4-mapped IPv6 address, else ``address``.

    A dual-stack listener sees IPv4 callers as ``::ffff:a.b.c.d``; rules name them as IPv4.
    """
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def peer_of(peername: object) -> tuple[IPAddress | None, str]:
    """Make sense of a connection's peer name (``getpeername()``) for the policy and the logs.

    Args:
        peername: an ``(host, port, ...)`` tuple for TCP, anything else for a Unix-domain
            socket.

    Returns:
        ``(address, label)``: the client's address (IPv4-mapped ones unmapped; ``None`` for a
        Unix-domain peer or a host that is no address), and ``addr:port``/``[v6addr]:port``
        (``local`` for a Unix-domain peer) for log lines.
    """
    if isinstance(peername, tuple) and len(peername) >= 2:
        host = str(peername[0]).split("%", 1)[0]
        try:
            address = unmap_address(ipaddress.ip_address(host))
        except ValueError:
            return None, f"{host}:{peername[1]}"
        label = f"[{address}]:{peername[1]}" if address.version == 6 else f"{address}:{peername[1]}"
        return address, label
    return None, "local"  # a Unix-domain socket (inetd tests, socketpair)


@dataclasses.dataclass(frozen=True, slots=True)
class AccessPolicy:
    """Who may use the modem.

    Decided in this order, the first answer wins:

    1. an address in a ``deny`` network is refused (``--deny`` beats everything);
    2. a ``hosts_allow`` rule for the service grants (or refuses, with a ``deny`` option);
    3. a ``hosts_deny`` rule refuses (or grants, with an ``allow`` option);
    4. an address in an ``allow`` network is granted (default: loopback only);
    5. anything else is refused.

    Steps 2-3 are tcpd's; step 5 is stricter than tcpd, which grants what no rule names,
    because an open modem dials long distance for anybody.

    Attributes:
        allow: networks granted at step 4.
        deny: networks refused at step 1.
        hosts_allow: rules of a ``hosts.allow`` file.
        hosts_deny: rules of a ``hosts.deny`` file.
        service: the daemon name the rules are matched against.
    """

    allow: tuple[IPNetwork, ...] = LOOPBACK
    deny: tuple[IPNetwork, ...] = ()
    hosts_allow: tuple[HostsRule, ...] = ()
    hosts_deny: tuple[HostsRule, ...] = ()
    service: str = SERVICE_NAME

    def check(self, address: IPAddress | None) -> tuple[bool, str]:
        """Decide about a client.

        Args:
            address: the client's address; ``None`` for a Unix-domain peer, which is on this
                host and is judged as 127.0.0.1.

        Returns:
            ``(granted, reason)``; the reason names the rule, for the log line.
        """
        addr = unmap_address(address) if address is not None else ipaddress.IPv4Address("127.0.0.1")
        for net in self.deny:
            if addr.version == net.version and addr in net:
                return False, f"denied by --deny {net}"
        for rule in self.hosts_allow:
            if rule.matches(self.service, addr):
                return rule.verdict is not False, f"rule at {rule.source}"
        for rule in self.hosts_deny:
            if rule.matches(self.service, addr):
                return rule.verdict is True, f"rule at {rule.source}"
        for net in self.allow:
            if addr.version == net.version and addr in net:
                return True, f"allowed by {net}"
        return False, "not in the allow list"

    @property
    def loopback_only(self) -> bool:
        """Whether nothing but loopback can ever be granted (then we bind to loopback only)."""
        return (
            not self.hosts_allow
            and not self.hosts_deny
            and all(
                net.network_address.is_loopback and net.broadcast_address.is_loopback
                for net in self.allow
            )
        )
