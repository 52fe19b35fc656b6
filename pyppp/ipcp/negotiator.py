"""IPCP negotiation policy (RFC 1332, RFC 1877), plugged into the generic automaton.

Theory of operation
-------------------
The automaton in :mod:`pyppp.fsm` owns identifiers, timers and counters; this module only
decides *what* to ask for and *how* to answer, the way pppd's ``ipcp.c`` callbacks do. State is
kept in pppd's views:

* **want**: what the configuration says (``_want_local``, ``_want_remote``): our address and
  the address we intend the peer to have; ``None`` means unknown.
* **got**: our current Configure-Request (:class:`_Request`); Naks and Rejects edit it, and once
  the peer Acks it, it is what we got.
* **his**: what the peer asked for in the request we last reviewed (:class:`_His`).

Addresses. We send IP-Address (RFC 1332 §3.3) carrying our address, or 0.0.0.0 when we do not
know it (pppd's ``noipdefault``), so that the peer Naks with the address we should use. If the
peer Rejects IP-Address we fall back to the deprecated IP-Addresses option (RFC 1172 §5.1), and
if that is rejected too we stop sending addresses, as pppd does. On the peer's side, an address
different from the one we intend it to have is Nak'd with ours unless ``accept_remote``; 0.0.0.0
with no address to offer is Configure-Rejected (pppd: "Don't ACK an address of 0.0.0.0"); a
request with no address at all gets one Nak carrying ours (pppd's ``req_addr``).

Authorisation. The peer's address must pass ``allowed_remote`` (the address words of its line
in the secrets file). Where pppd would Ack an unauthorised address and then fail, we first Nak
with our own intended address when that one is authorised; if nothing better exists the address
is Acked and :meth:`IpcpNegotiator.up` reports pppd's failure, which the link turns into an IPCP
Close (pppd's ``ipcp_close``) with the Terminate reason pppd uses.

DNS/NBNS (RFC 1877). With ``usepeerdns`` we request 129/131 as 0.0.0.0 and take the peer's Naks;
a Reject stops the request. We serve ``ms_dns``/``ms_wins`` to a peer asking for them (Nak with
ours, or Reject when we have none).

VJ compression (RFC 1332 §3.2, RFC 1144): with ``vj`` we request ``compress VJ 0f 01`` (or
``vj_max_slot_id``/``vj_compress_slot_id``) and judge the peer's as pppd does
(:mod:`pyppp.ipcp.vjpolicy`); the result says what each direction agreed (``vj_send``,
``vj_receive``). Without ``vj`` we never request it and Configure-Reject it.

Nothing here raises on peer input: the automaton hands us decoded options, malformed ones as
:class:`UnknownOption`, and every path ends in a verdict.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address, IPv4Network
from typing import ClassVar, Final

from pyppp.errors import ConfigError
from pyppp.ipcp.options import (
    CODECS,
    UNSPECIFIED,
    IpAddress,
    IpAddresses,
    IpCompressionProtocol,
    PrimaryDns,
    PrimaryNbns,
    SecondaryDns,
    SecondaryNbns,
)
from pyppp.ipcp.vjpolicy import VjParameters, VjRequest, judge_vj, valid_vj_nak
from pyppp.options import EchoedRequest, Option, Review
from pyppp.packet import Code, PPPProtocol
from pyppp.util import NOTICE

__all__ = [
    "DEFAULT_REMOTE_BASE",
    "AddressPolicy",
    "AddressRule",
    "IpcpConfig",
    "IpcpFailure",
    "IpcpNegotiator",
    "IpcpResult",
]

DEFAULT_REMOTE_BASE: Final = IPv4Address("10.64.64.64")
"""pppd's made-up peer address when nobody knows it (plus the interface unit number)."""

_LOOPBACK: Final = IPv4Network("127.0.0.0/8")
_MULTICAST: Final = IPv4Network("224.0.0.0/4")
_CLASS_E: Final = IPv4Network("240.0.0.0/4")


def _bad_address(address: IPv4Address) -> bool:
    """Return whether pppd's ``bad_ip_adrs`` refuses the address (loopback, multicast, class E)."""
    return address in _LOOPBACK or address in _MULTICAST or address in _CLASS_E


# --------------------------------------------------------------------------------------------
# Authorised peer addresses (pppd auth.c set_allowed_addrs / auth_ip_addr)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AddressRule:
    """One entry of an address list: a network that is permitted or (``!``) forbidden.

    Attributes:
        network: the addresses the rule covers (a /32 for a single host).
        permit: ``False`` for a ``!`` entry.
    """

    network: IPv4Network
    permit: bool = True


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Which addresses the peer may use, as the address words of a secrets-file line say.

    The rules are tried in order and the first one containing the address decides; an address no
    rule covers is forbidden (pppd ends the list with a forbid-all entry). Loopback, multicast and
    class-E addresses are always forbidden (pppd ``bad_ip_adrs``).

    Build one with :meth:`any` (no restriction: pppd without ``auth``, or the word ``*``),
    :meth:`none` (the line has only three words, or ``-``) or :meth:`from_words`.

    Attributes:
        rules: the entries in order.
    """

    rules: tuple[AddressRule, ...] = ()

    @classmethod
    def any(cls) -> AddressPolicy:
        """Permit every usable address."""
        return cls((AddressRule(IPv4Network("0.0.0.0/0")),))

    @classmethod
    def none(cls) -> AddressPolicy:
        """Permit no address at all."""
        return cls(())

    @classmethod
    def from_words(
        cls,
        words: Iterable[str],
        *,
        unit: int = 0,
        resolve: Callable[[str], IPv4Address | None] | None = None,
        logger: logging.Logger | None = None,
    ) -> AddressPolicy:
        """Parse pppd's address words (``10.0.0.2 10.0.0.0/24 10.0.0.0/24+ * - !10.0.0.5``).

        An empty list permits nothing: pppd.8 "If there are only 3 words on the line, or if the
        first word is "-", then all IP addresses are disallowed." ``-`` ends the list; ``*``
        permits any address and ends it. ``/n+`` names the single address of the subnet whose
        host part is the interface unit plus one. A word that cannot be understood is skipped
        with pppd's warning, as pppd does.

        Args:
            words: the words after the secret (up to, not including, a ``--``).
            unit: the PPP interface unit number, for the ``+`` form.
            resolve: turns a host name into an address (the shell may pass a resolver; the core
                does no name lookups). Without it, only dotted quads are understood.
            logger: where the warnings go (``pyppp.auth`` by default).

        Returns:
            The policy.
        """
        log = logger or logging.getLogger("pyppp.auth")
        rules: list[AddressRule] = []
        for original in words:
            if original == "-":
                break
            if original == "*":
                rules.append(AddressRule(IPv4Network("0.0.0.0/0")))
                break
            word = original
            permit = not word.startswith("!")
            if not permit:
                word = word[1:]
            prefix = 32
            offset = 0
            if "/" in word:
                word, length = word.split("/", 1)
                # pppd reads the length with strtol(), then allows one "+" and nothing else.
                match = re.fullmatch(r"([+-]?\d+)(.*)", length)
                prefix = int(match[1]) if match else 0
                if not 0 < prefix <= 32:
                    log.warning("invalid address length %s in auth. address list", length)
                    continue
                rest = match[2] if match else ""
                if rest.startswith("+"):
                    offset, rest = unit + 1, rest[1:]
                if rest:
                    log.warning("invalid address length syntax: %s", length)
                    continue
            address = _parse_address(word, resolve)
            if address is None:
                log.warning("unknown host %s in auth. address list", original)
                continue
            network = IPv4Network((address, prefix), strict=False)
            if offset:
                if offset >= network.num_addresses - 1:
                    log.warning("interface unit %d too large for subnet %s", unit, word)
                    continue
                network = IPv4Network(network.network_address + offset)
            rules.append(AddressRule(network, permit))
        return cls(tuple(rules))

    def permits(self, address: IPv4Address) -> bool:
        """Return whether the peer may use ``address`` (pppd ``auth_ip_addr``)."""
        if _bad_address(address):
            return False
        for rule in self.rules:
            if address in rule.network:
                return rule.permit
        return False

    @property
    def suggested(self) -> IPv4Address | None:
        """The first single permitted host, which pppd asks the peer to use right away.

        pppd takes the first single host even from a ``!`` entry; we take only permitted ones,
        since a forbidden suggestion could only end in "Peer is not authorized".
        """
        for rule in self.rules:
            if rule.permit and rule.network.prefixlen == 32:
                address = rule.network.network_address
                if not _bad_address(address):
                    return address
        return None


def _parse_address(
    word: str, resolve: Callable[[str], IPv4Address | None] | None
) -> IPv4Address | None:
    try:
        return IPv4Address(word)
    except ValueError:
        pass
    if resolve is None:
        return None
    try:
        return resolve(word)
    except (OSError, ValueError):
        return None


# --------------------------------------------------------------------------------------------
# Configuration and results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IpcpConfig:
    """The IPCP part of pppd's options.

    Unlike pppd, a missing ``local`` is never filled in from the host name: the core does no
    name lookups, so ``local=None`` always behaves like pppd's ``noipdefault`` (request 0.0.0.0
    and take the address the peer Naks with). A CLI that wants pppd's default resolves the host
    name itself and passes the result with ``accept_local=True``, which is what pppd does.

    Attributes:
        local: our address (``local:`` of ``local:remote``), ``None`` to learn it from the peer.
        remote: the address we intend the peer to have (``:remote``), ``None`` if unknown.
        accept_local: ``ipcp-accept-local``: take the peer's Nak of our address even though we
            have one (always so when ``local`` is ``None``).
        accept_remote: ``ipcp-accept-remote``: let the peer keep its own idea of its address
            (always so when ``remote`` is ``None``).
        ms_dns: ``ms-dns`` values, served to the peer (RFC 1877); as in pppd the last two count,
            and a single one is both primary and secondary.
        ms_wins: ``ms-wins`` values, the same way.
        usepeerdns: ask the peer for its DNS servers (options 129 and 131 with 0.0.0.0).
        allowed_remote: addresses the peer may use; replaced after authentication through
            :meth:`IpcpNegotiator.set_allowed_remote`.
        vj: Van Jacobson TCP/IP header compression both ways (pppd's default; ``novj``
            clears it): requested from the peer, and granted when the peer requests it.
        unit: the interface unit number, for pppd's made-up remote address 10.64.64.64+unit.
        usepeerwins: ask the peer for its WINS servers (options 130 and 132, pppd 2.5).
        send_address: send our address in our request (pppd ``nosendip`` and
            ``ipcp-no-address`` clear it).
        allow_address: accept the IP-Address option (3) from the peer (``ipcp-no-address``).
        old_addresses: send and accept the old IP-Addresses option (1)
            (``ipcp-no-addresses`` clears it).
        noremoteip: pppd ``noremoteip``: the peer may have no address at all; none is made
            up and the interface gets no peer address (the result's ``remote`` is 0.0.0.0).
        vj_max_slot_id: the highest VJ slot id, ours to ask for and the most we grant
            (pppd ``vj-max-slots N`` sets N-1).
        vj_compress_slot_id: ask for and grant slot-id omission (``novjccomp`` clears it).
    """

    local: IPv4Address | None = None
    remote: IPv4Address | None = None
    accept_local: bool = False
    accept_remote: bool = False
    ms_dns: tuple[IPv4Address, ...] = ()
    ms_wins: tuple[IPv4Address, ...] = ()
    usepeerdns: bool = False
    allowed_remote: AddressPolicy = field(default_factory=AddressPolicy.any)
    vj: bool = False
    unit: int = 0
    usepeerwins: bool = False
    send_address: bool = True
    allow_address: bool = True
    old_addresses: bool = True
    noremoteip: bool = False
    vj_max_slot_id: int = 15
    vj_compress_slot_id: bool = True

    def __post_init__(self) -> None:
        if not 0 <= self.vj_max_slot_id <= 255:
            raise ConfigError(f"bad VJ Max-Slot-Id {self.vj_max_slot_id}")
        for name, address in (("local", self.local), ("remote", self.remote)):
            if address is not None and address != UNSPECIFIED and _bad_address(address):
                raise ConfigError(f"bad {name} IP address {address}")


@dataclass(frozen=True, slots=True)
class IpcpFailure:
    """Why IPCP must close right after reaching Opened (pppd ``ipcp_up`` failures).

    Attributes:
        message: pppd's error line, verbatim (``"Peer is not authorized to use remote address
            10.0.0.9"``).
        reason: the text pppd puts in its Terminate-Request (``"Unauthorized remote IP
            address"``).
    """

    message: str
    reason: str


@dataclass(frozen=True, slots=True)
class IpcpResult:
    """What IPCP settled at This-Layer-Up (reported in :class:`~pyppp.control.LayerUp`).

    Attributes:
        local: our address (``None`` when :attr:`failure` is set).
        remote: the peer's address (``None`` when :attr:`failure` is set).
        dns: name servers the peer gave us (``usepeerdns``), primary first.
        failure: why IPCP must close at once, or ``None`` on success.
        messages: pppd's ``(level, line)`` log lines for this moment ("local  IP address ...").
        wins: WINS servers the peer gave us (``usepeerwins``), primary first.
        vj_send: how we may VJ-compress what we send (the peer's request we Acked), or
            ``None``: send plain IP.
        vj_receive: what our VJ decompressor takes (our request the peer Acked), or
            ``None``: the peer must not send VJ.
    """

    local: IPv4Address | None
    remote: IPv4Address | None
    dns: tuple[IPv4Address, ...]
    failure: IpcpFailure | None
    messages: tuple[tuple[int, str], ...]
    wins: tuple[IPv4Address, ...] = ()
    vj_send: VjParameters | None = None
    vj_receive: VjParameters | None = None


# --------------------------------------------------------------------------------------------
# Negotiation state
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Request:
    """Our Configure-Request as it stands (pppd's ``gotoptions`` for our side)."""

    neg_addr: bool = True  # send IP-Address (3)
    old_addrs: bool = True  # may fall back to IP-Addresses (1) if IP-Address is rejected
    local: IPv4Address = UNSPECIFIED
    remote: IPv4Address = UNSPECIFIED  # only carried by IP-Addresses
    req_dns: tuple[bool, bool] = (False, False)
    dns: tuple[IPv4Address, IPv4Address] = (UNSPECIFIED, UNSPECIFIED)
    # Without usepeerwins pppd requests NBNS only after a peer Naks it in unsolicited.
    req_wins: tuple[bool, bool] = (False, False)
    wins: tuple[IPv4Address, IPv4Address] = (UNSPECIFIED, UNSPECIFIED)
    vj: VjRequest | None = None  # IP-Compression-Protocol (2), pppd's neg_vj

    @property
    def sends_addrs(self) -> bool:
        return not self.neg_addr and self.old_addrs

    def options(self) -> list[Option]:
        """The request in pppd's order: IP-Addresses, VJ, IP-Address, DNS, NBNS."""
        options: list[Option] = []
        if self.sends_addrs:
            options.append(IpAddresses(self.local, self.remote))
        if self.vj is not None:
            options.append(self.vj.option())
        if self.neg_addr:
            options.append(IpAddress(self.local))
        if self.req_dns[0]:
            options.append(PrimaryDns(self.dns[0]))
        if self.req_dns[1]:
            options.append(SecondaryDns(self.dns[1]))
        if self.req_wins[0] or self.wins[0] != UNSPECIFIED:
            options.append(PrimaryNbns(self.wins[0]))
        if self.req_wins[1] or self.wins[1] != UNSPECIFIED:
            options.append(SecondaryNbns(self.wins[1]))
        return options


@dataclass(slots=True)
class _His:
    """What the peer asked for in the request we last reviewed (pppd's ``hisoptions``)."""

    neg_addr: bool = False
    old_addrs: bool = False
    remote: IPv4Address = UNSPECIFIED  # the peer's own address
    local: IPv4Address = UNSPECIFIED  # its idea of ours (IP-Addresses only)
    vj: VjParameters | None = None  # the VJ compression it asked us to send


def _last_two(values: Sequence[IPv4Address]) -> tuple[IPv4Address | None, IPv4Address | None]:
    """Apply pppd's ms-dns/ms-wins rule: the last two count; a single one is used for both."""
    if not values:
        return None, None
    if len(values) == 1:
        return values[0], values[0]
    return values[-2], values[-1]


class IpcpNegotiator(EchoedRequest[_Request]):
    """The IPCP plug-in of the generic automaton (implements :class:`pyppp.options.Negotiator`).

    After :meth:`up`, :attr:`failure` is ``None`` on success and :attr:`local`, :attr:`remote`,
    :attr:`dns` (with :attr:`dns1`/:attr:`dns2`) hold the result; :meth:`log_lines` gives the
    lines pppd prints at that moment. ``request``, ``on_ack`` and ``on_nak`` (pppd
    ``ipcp_addci``, ``ipcp_ackci``, ``ipcp_nakci``/``ipcp_rejci``) come from
    :class:`~pyppp.options.EchoedRequest`.

    Args:
        config: the IPCP options.
        logger: where debug lines go (``pyppp.ipcp`` by default).
    """

    protocol: ClassVar[int] = PPPProtocol.IPCP
    name: ClassVar[str] = "IPCP"
    codecs: ClassVar[Mapping[int, type[Option]]] = CODECS

    def __init__(self, config: IpcpConfig, logger: logging.Logger | None = None) -> None:
        self.config = config
        self._logger = logger or logging.getLogger("pyppp.ipcp")
        local = config.local if config.local != UNSPECIFIED else None
        remote = config.remote if config.remote != UNSPECIFIED else None
        self._want_local: IPv4Address | None = local
        # pppd sets accept_local for good when it starts without an address of its own.
        self._accept_local_forced = local is None
        self._configured_remote: IPv4Address | None = remote
        self._want_remote: IPv4Address | None = remote
        self._policy_accepts_remote = False
        self._policy = config.allowed_remote
        self._serve_dns = _last_two(config.ms_dns)
        self._serve_wins = _last_two(config.ms_wins)
        self._req_addr = True
        self._got = _Request()
        self._his = _His()
        self._opened = False
        self.local: IPv4Address | None = None
        self.remote: IPv4Address | None = None
        self.dns1: IPv4Address | None = None
        self.dns2: IPv4Address | None = None
        self.wins: tuple[IPv4Address, ...] = ()
        self.failure: IpcpFailure | None = None
        self._log: list[tuple[int, str]] = []
        self._apply_policy()
        self.reset()

    # -- configuration -----------------------------------------------------------------------

    @property
    def allowed_remote(self) -> AddressPolicy:
        """The addresses the peer may use."""
        return self._policy

    def set_allowed_remote(self, policy: AddressPolicy) -> None:
        """Install the authenticated peer's address list (call before IPCP starts).

        As pppd does, if the policy names a single host and we have no remote address or one
        the policy forbids, that host becomes the address we intend the peer to have; and when
        the list has more than one entry we then let the peer propose its own.
        """
        self._policy = policy
        self._apply_policy()

    def _apply_policy(self) -> None:
        self._want_remote = self._configured_remote
        self._policy_accepts_remote = False
        suggested = self._policy.suggested
        if suggested is not None and (
            self._want_remote is None or not self._policy.permits(self._want_remote)
        ):
            self._want_remote = suggested
            self._policy_accepts_remote = len(self._policy.rules) > 1

    @property
    def accept_local(self) -> bool:
        """Whether a Nak of our address is taken (``ipcp-accept-local`` or no address)."""
        return self.config.accept_local or self._accept_local_forced

    @property
    def accept_remote(self) -> bool:
        """Whether the peer may keep its own address (``ipcp-accept-remote`` or none known)."""
        return self.config.accept_remote or self._policy_accepts_remote or self._want_remote is None

    @property
    def dns(self) -> tuple[IPv4Address, ...]:
        """The name servers the peer gave us (primary first), after :meth:`up`."""
        return tuple(a for a in (self.dns1, self.dns2) if a is not None)

    # -- Negotiator protocol -----------------------------------------------------------------

    def reset(self) -> None:
        """Start a new negotiation from the configuration (pppd ``ipcp_resetci``)."""
        config = self.config
        self._req_addr = True
        self._got = _Request(
            neg_addr=config.send_address,
            old_addrs=config.send_address and config.old_addresses,
            local=self._want_local or UNSPECIFIED,
            remote=self._want_remote or UNSPECIFIED,
            req_dns=(config.usepeerdns, config.usepeerdns),
            req_wins=(config.usepeerwins, config.usepeerwins),
            vj=VjRequest(config.vj_max_slot_id, config.vj_compress_slot_id) if config.vj else None,
        )
        self._his = _His()

    def review(self, options: Sequence[Option], *, reject_if_disagree: bool) -> Review:
        """Judge the peer's Configure-Request (pppd ``ipcp_reqci``).

        Returns:
            A Configure-Reject of every rejected option if any; else a Configure-Nak of every
            Nak'd option (with our values), plus IP-Address if the peer sent no address and we
            have not asked yet; else a Configure-Ack echoing the request.
        """
        self._his = _His()
        code = Code.CONF_ACK
        reply: list[Option] = []
        for option in options:
            verdict, answer = self._judge(option)
            if verdict is Code.CONF_NAK and reject_if_disagree:
                verdict, answer = Code.CONF_REJ, option
            if verdict is Code.CONF_ACK:
                if code is Code.CONF_ACK:
                    reply.append(option)
                continue
            if verdict is Code.CONF_NAK:
                if code is Code.CONF_REJ:
                    continue
                if code is Code.CONF_ACK:
                    code, reply = Code.CONF_NAK, []
                reply.append(answer)
                continue
            if code is not Code.CONF_REJ:
                code, reply = Code.CONF_REJ, []
            reply.append(option)

        his = self._his
        if (
            code is not Code.CONF_REJ
            and not (his.neg_addr or his.old_addrs)
            and self._req_addr
            and not reject_if_disagree
            and not self.config.noremoteip  # pppd: no asking for an address it need not have
        ):
            # The peer did not say which address it wants: tell it ours for it, once.
            if code is Code.CONF_ACK:
                code, reply = Code.CONF_NAK, []
                self._req_addr = False
            reply.append(IpAddress(self._want_remote or UNSPECIFIED))
        self._logger.debug("IPCP: returning Configure-%s", code.name.split("_")[1].title())
        return Review(code, tuple(reply))

    def up(self) -> IpcpResult:
        """This-Layer-Up: fix the result, or the reason IPCP must close (pppd ``ipcp_up``)."""
        self._settle()
        ok = self.failure is None
        return IpcpResult(
            self.local,
            self.remote,
            self.dns,
            self.failure,
            tuple(self._log),
            wins=self.wins,
            vj_send=self._his.vj if ok else None,
            vj_receive=self._got.vj.parameters if ok and self._got.vj is not None else None,
        )

    def _settle(self) -> None:
        self._opened = True
        self._log = []
        self.failure = None
        got, his = self._got, self._his
        remote = his.remote if (his.neg_addr or his.old_addrs) else self._want_remote
        local = got.local
        if local == UNSPECIFIED and self._want_local is not None:
            local = self._want_local  # learnt from the peer's IP-Addresses request
        self.dns1 = got.dns[0] if got.req_dns[0] and got.dns[0] != UNSPECIFIED else None
        self.dns2 = got.dns[1] if got.req_dns[1] and got.dns[1] != UNSPECIFIED else None
        self.wins = tuple(
            address
            for address, asked in zip(got.wins, got.req_wins, strict=True)
            if asked and address != UNSPECIFIED
        )
        wanted_to_send = self.config.send_address  # pppd: (wo->neg_addr || wo->old_addrs)
        if not (got.neg_addr or got.old_addrs) and wanted_to_send and self._want_local is not None:
            self._fail("Peer refused to agree to our IP address", "Refused our IP address")
            return
        if local == UNSPECIFIED:
            self._fail(
                "Could not determine local IP address", "Could not determine local IP address"
            )
            return
        if (remote is None or remote == UNSPECIFIED) and self.config.noremoteip:
            remote = UNSPECIFIED  # pppd noremoteip: the interface gets no peer address
        elif remote is None or remote == UNSPECIFIED:
            remote = DEFAULT_REMOTE_BASE + self.config.unit
            self._log.append(
                (logging.WARNING, f"Could not determine remote IP address: defaulting to {remote}")
            )
        if remote != UNSPECIFIED and not self._policy.permits(remote):
            self._fail(
                f"Peer is not authorized to use remote address {remote}",
                "Unauthorized remote IP address",
            )
            return
        self.local, self.remote = local, remote
        # As pppd, remember the address we ended up with and ask for it next time.
        self._want_local = local
        self._log.append((NOTICE, f"local  IP address {local}"))
        if remote != UNSPECIFIED:  # pppd: "if (ho->hisaddr != 0)"
            self._log.append((NOTICE, f"remote IP address {remote}"))
        if self.dns1 is not None:
            self._log.append((NOTICE, f"primary   DNS address {self.dns1}"))
        if self.dns2 is not None:
            self._log.append((NOTICE, f"secondary DNS address {self.dns2}"))

    def down(self) -> None:
        """This-Layer-Down: the results stay readable (for ip-down) until the next up()."""
        self._opened = False

    def log_lines(self) -> list[tuple[int, str]]:
        """Return the ``(logging level, text)`` lines pppd prints when IPCP comes up.

        On success: ``local  IP address A`` (two spaces), ``remote IP address B``, and with
        peer DNS ``primary   DNS address C`` / ``secondary DNS address D`` at NOTICE, possibly
        after the WARNING ``Could not determine remote IP address: defaulting to ...``. On
        failure: the ERROR line of :attr:`failure`.
        """
        return list(self._log)

    # -- internals ---------------------------------------------------------------------------

    def _fail(self, message: str, reason: str) -> None:
        self.failure = IpcpFailure(message, reason)
        self.local = self.remote = None
        self._log.append((logging.ERROR, message))

    def _judge_remote(self, address: IPv4Address) -> tuple[Code, IPv4Address]:
        """Verdict on the address the peer wants for itself, and the address to Nak with."""
        want = self._want_remote or UNSPECIFIED
        if address != want and (address == UNSPECIFIED or not self.accept_remote):
            return Code.CONF_NAK, want
        if address == UNSPECIFIED:  # and want is unknown too: nobody knows it
            self._req_addr = False  # and do not Nak with 0.0.0.0 later
            return Code.CONF_REJ, address
        if (
            not self._policy.permits(address)
            and want not in (UNSPECIFIED, address)
            and self._policy.permits(want)
        ):
            return Code.CONF_NAK, want
        return Code.CONF_ACK, address

    def _judge(self, option: Option) -> tuple[Code, Option]:
        """Verdict on one option of the peer's request and what to send back for it."""
        his = self._his
        match option:
            case IpAddress(address=address):
                if his.old_addrs or not self.config.allow_address:
                    # both forms in one request: keep the first; ipcp-no-address: none
                    return Code.CONF_REJ, option
                verdict, value = self._judge_remote(address)
                if verdict is Code.CONF_REJ:
                    return verdict, option
                his.neg_addr, his.remote = True, address
                return verdict, IpAddress(value)
            case IpAddresses(source=source, destination=destination):
                if his.neg_addr or not self.config.old_addresses:
                    return Code.CONF_REJ, option
                verdict, value = self._judge_remote(source)
                if verdict is Code.CONF_REJ:
                    return verdict, option
                ours = self._want_local or UNSPECIFIED
                answer_destination = destination
                if destination != ours:
                    if destination == UNSPECIFIED or not self.accept_local:
                        verdict, answer_destination = Code.CONF_NAK, ours
                    else:
                        self._want_local = destination  # accept the peer's idea of ours
                his.old_addrs, his.remote, his.local = True, source, destination
                return verdict, IpAddresses(value, answer_destination)
            case PrimaryDns() | SecondaryDns() | PrimaryNbns() | SecondaryNbns():
                return self._judge_server(option)
            case IpCompressionProtocol():
                config = self.config
                allow = VjParameters(config.vj_max_slot_id, config.vj_compress_slot_id)
                verdict, answer, his.vj = judge_vj(option, allow if config.vj else None)
                return verdict, answer
            case _:
                return Code.CONF_REJ, option

    def _judge_server(
        self, option: PrimaryDns | SecondaryDns | PrimaryNbns | SecondaryNbns
    ) -> tuple[Code, Option]:
        """Verdict on a DNS/NBNS server request (RFC 1877): Nak with ours, Reject if none."""
        match option:
            case PrimaryDns():
                ours = self._serve_dns[0]
            case SecondaryDns():
                ours = self._serve_dns[1]
            case PrimaryNbns():
                ours = self._serve_wins[0]
            case SecondaryNbns():
                ours = self._serve_wins[1]
        if ours is None:
            return Code.CONF_REJ, option
        if option.address != ours:
            return Code.CONF_NAK, type(option)(ours)
        return Code.CONF_ACK, option

    def _rejected(self, options: Sequence[Option]) -> _Request | None:
        """Apply a Configure-Reject; ``None`` if it is not a subset of our request in order."""
        attempt = self._got
        index = 0
        for sent in self._got.options():
            if index >= len(options) or options[index].option_type != sent.option_type:
                continue
            if options[index].encode() != sent.encode():
                return None  # RFC 1661 §5.4: rejected options MUST NOT be modified
            index += 1
            match sent:
                case IpAddresses():
                    attempt = replace(attempt, old_addrs=False)
                case IpAddress():
                    attempt = replace(attempt, neg_addr=False)
                case IpCompressionProtocol():
                    attempt = replace(attempt, vj=None)
                case PrimaryDns():
                    attempt = replace(attempt, req_dns=(False, attempt.req_dns[1]))
                case SecondaryDns():
                    attempt = replace(attempt, req_dns=(attempt.req_dns[0], False))
                case PrimaryNbns():
                    attempt = replace(
                        attempt,
                        wins=(UNSPECIFIED, attempt.wins[1]),
                        req_wins=(False, attempt.req_wins[1]),
                    )
                case SecondaryNbns():
                    attempt = replace(
                        attempt,
                        wins=(attempt.wins[0], UNSPECIFIED),
                        req_wins=(attempt.req_wins[0], False),
                    )
        if index != len(options):
            return None
        return attempt

    def _naked(self, options: Sequence[Option]) -> _Request | None:
        """Apply a Configure-Nak; ``None`` if it is bogus.

        Nak'd options come first, in the order we sent them; after them the peer may add
        options we did not send, suggesting we ask for them (RFC 1661 §5.3).
        """
        got = self._got
        attempt = got
        seen: set[int] = set()
        index = 0
        for sent in got.options():
            if index >= len(options) or type(options[index]) is not type(sent):
                continue
            nak = options[index]
            index += 1
            seen.add(nak.option_type)
            if isinstance(nak, IpCompressionProtocol) and not valid_vj_nak(nak):
                return None
            attempt = self._take_nak(attempt, nak)

        for nak in options[index:]:
            kind = nak.option_type
            match nak:
                case IpCompressionProtocol():
                    if got.vj is not None or kind in seen or not valid_vj_nak(nak):
                        return None
                    # The peer wants us to ask for VJ: pppd does not start asking either.
                case IpAddresses():
                    if got.sends_addrs or kind in seen:
                        return None
                    attempt = replace(self._take_nak(attempt, nak), neg_addr=False)
                case IpAddress(address=address):
                    if got.neg_addr or kind in seen:
                        return None
                    attempt = replace(self._take_nak(attempt, nak), old_addrs=False)
                    if attempt.local != UNSPECIFIED:
                        attempt = replace(attempt, neg_addr=True)
                case PrimaryDns(address=address):
                    if got.req_dns[0] or kind in seen:
                        return None
                    # pppd: "some peers get huffy if we don't" ask for what they offer.
                    attempt = replace(
                        attempt, req_dns=(True, attempt.req_dns[1]), dns=(address, attempt.dns[1])
                    )
                case SecondaryDns(address=address):
                    if got.req_dns[1] or kind in seen:
                        return None
                    attempt = replace(
                        attempt, req_dns=(attempt.req_dns[0], True), dns=(attempt.dns[0], address)
                    )
                case PrimaryNbns() | SecondaryNbns():
                    attempt = self._take_nak(attempt, nak)
                case _:
                    if kind in CODECS:  # a known option with a broken length
                        return None
            seen.add(kind)
        return attempt

    def _take_nak(self, attempt: _Request, nak: Option) -> _Request:
        """Take the value of one Nak'd option, as far as our accept flags allow."""
        match nak:
            case IpCompressionProtocol() if attempt.vj is not None:
                attempt = replace(attempt, vj=attempt.vj.after_nak(nak))
            case IpAddresses(source=source, destination=destination):
                if self.accept_local and source != UNSPECIFIED:
                    attempt = replace(attempt, local=source)
                if self.accept_remote and destination != UNSPECIFIED:
                    attempt = replace(attempt, remote=destination)
            case IpAddress(address=address):
                if address == UNSPECIFIED:
                    pass
                elif self.accept_local:
                    attempt = replace(attempt, local=address)
                else:
                    self._logger.debug(
                        "IPCP: peer Nak'd our address with %s; keeping ours", address
                    )
            case PrimaryDns(address=address):
                attempt = replace(attempt, dns=(address, attempt.dns[1]))
            case SecondaryDns(address=address):
                attempt = replace(attempt, dns=(attempt.dns[0], address))
            case PrimaryNbns(address=address) if address != UNSPECIFIED:
                attempt = replace(attempt, wins=(address, attempt.wins[1]))
            case SecondaryNbns(address=address) if address != UNSPECIFIED:
                attempt = replace(attempt, wins=(attempt.wins[0], address))
        return attempt
