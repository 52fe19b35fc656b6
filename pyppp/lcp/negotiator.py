"""The LCP negotiation policy: a :class:`~pyppp.options.Negotiator` for the generic automaton.

Theory of operation
-------------------
pppd's ``lcp.c`` keeps four views of the options, and so does :class:`LcpNegotiator`:

``want``  (:class:`LcpConfig` plus a fresh magic number) what we would like the peer to do for us.
``got``   our current request; it starts as ``want`` at every :meth:`~LcpNegotiator.reset` and
          is adjusted by each Configure-Nak and Configure-Reject. When the peer Acks it, it is
          what we got.
``allow`` (also from :class:`LcpConfig`) what we let the peer ask of us.
``his``   what we acknowledged of the peer's last Configure-Request.

Our Configure-Request is always computed from ``got`` (so a retransmission is identical), and
a Configure-Ack must echo exactly that request (RFC 1661 §5.2). A Nak or Reject that does not
fit the request is "bad": we count it, log it at debug level, leave ``got`` alone and return
``False`` so the automaton discards the packet. Nothing the peer sends raises.

The directions are easy to confuse, so the results (:class:`LcpResult`) are named for the data
path: the MRU/ACCM/PFC/ACFC the *peer* asked for govern what we **send**; the ones we asked for
and the peer acknowledged govern what we may **receive**.

Two outcomes need the link's attention after negotiation, as in pppd:

* :attr:`LcpNegotiator.looped_back` -- the peer Nak'd our magic number ``loopback_fail`` times in
  a row; pppd logs "Serial line is looped back." and exits with status 17.
* :attr:`LcpResult.auth_refused` -- we require authentication but the peer rejected (or Nak'd
  away) every protocol we can use; pppd logs "peer refused to authenticate: terminating link"
  and exits with status 11.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import ClassVar, Final

from pyppp.errors import ConfigError
from pyppp.lcp.options import (
    CHAP_MD5,
    CODECS,
    MAX_MRU,
    MIN_MRU,
    PAP,
    PPP_MRU,
    Accm,
    Acfc,
    AuthProtocol,
    ChapAlgorithm,
    EndpointDiscriminator,
    MagicNumber,
    Mru,
    Pfc,
)
from pyppp.options import Option, Review, UnknownOption
from pyppp.packet import Code, PPPProtocol
from pyppp.util import Rng

__all__ = [
    "DEFAULT_LOOPBACK_FAIL",
    "LcpConfig",
    "LcpNegotiator",
    "LcpResult",
    "LcpStats",
]

DEFAULT_LOOPBACK_FAIL: Final = 10
"""pppd's ``DEFLOOPBACKFAIL``: Naks of our magic number in a row that mean a looped-back line."""

_ALL_ONES: Final = 0xFFFFFFFF
# pppd's MAX_ENDP_LEN: the longest Endpoint-Discriminator address it accepts.
_MAX_ENDPOINT_ADDRESS: Final = 20

# What _judge returns to reject an option (a sentinel compared by identity; never sent).
_REJECT: Final[Option] = UnknownOption(-1)

# The authentication protocols pyppp implements, as the option that asks for each.
_AUTH_OPTIONS: Final[Mapping[int, AuthProtocol]] = {
    PPPProtocol.CHAP: CHAP_MD5,
    PPPProtocol.PAP: PAP,
}
_CHAP_ALGORITHMS: Final = frozenset(ChapAlgorithm)


def _chap_option(algorithm: int) -> AuthProtocol:
    return AuthProtocol(PPPProtocol.CHAP, bytes((algorithm,)))


@dataclass(frozen=True, slots=True)
class LcpConfig:
    """What LCP asks for and accepts; the defaults are pppd's.

    Attributes:
        mru: the MRU we ask for (pppd ``mru``); ``None`` neither requests nor accepts the
            MRU option (pppd ``default-mru``). 1500 is the default and is not sent.
        mtu: a cap on the packets we send whatever MRU the peer asks for (pppd ``mtu``).
        asyncmap: the ACCM we ask the peer to use when sending to us (pppd ``asyncmap``).
        default_asyncmap: do not negotiate the ACCM at all (pppd ``default-asyncmap``).
        pcomp: request and accept Protocol-Field-Compression (pppd ``nopcomp`` clears it).
        accomp: request and accept Address-and-Control-Field-Compression (``noaccomp``).
        magic: negotiate Magic-Numbers (pppd ``nomagic`` clears it).
        require_auth: the protocols (``PPPProtocol.CHAP``, ``PPPProtocol.PAP``) the peer must
            authenticate with, in our order of preference; empty: no authentication.
            pppd's ``auth`` with secrets for both gives ``(PPPProtocol.CHAP, PPPProtocol.PAP)``.
        chap_algorithms: the CHAP algorithms (`ChapAlgorithm`) we ask for when CHAP is
            required, best first; pppd's order is MD5, MS-CHAPv2, MS-CHAP (``require-chap``,
            ``require-mschap-v2``, ``require-mschap``).
        allow_auth: the protocols we can authenticate ourselves with when the peer asks
            (the ones we have credentials for).
        allow_chap_algorithms: the CHAP algorithms we can answer with, best first (our Nak
            of an algorithm we cannot do suggests the first).
        refuse_pap: never authenticate ourselves with PAP (pppd ``refuse-pap``).
        refuse_chap: never authenticate ourselves with CHAP-MD5 (``refuse-chap``).
        refuse_mschap: never authenticate ourselves with MS-CHAP (``refuse-mschap``).
        refuse_mschap_v2: never authenticate ourselves with MS-CHAPv2 (``refuse-mschap-v2``).
        refuse_eap: pppd ``refuse-eap``; pyppp never does EAP, so always in effect.
        loopback_fail: how many Naks of our magic number in a row mean a looped-back line
            (pppd ``lcp_loopbackfail``).

    Raises:
        ConfigError: a value pppd would refuse (an MRU or MTU outside 128..16384, an ACCM
            wider than 32 bits, an authentication protocol pyppp does not implement).
    """

    mru: int | None = PPP_MRU
    mtu: int | None = None
    asyncmap: int = 0
    default_asyncmap: bool = False
    pcomp: bool = True
    accomp: bool = True
    magic: bool = True
    require_auth: tuple[int, ...] = ()
    chap_algorithms: tuple[int, ...] = (ChapAlgorithm.MD5,)
    allow_auth: tuple[int, ...] = (PPPProtocol.CHAP, PPPProtocol.PAP)
    allow_chap_algorithms: tuple[int, ...] = (ChapAlgorithm.MD5,)
    refuse_pap: bool = False
    refuse_chap: bool = False
    refuse_mschap: bool = False
    refuse_mschap_v2: bool = False
    refuse_eap: bool = False
    loopback_fail: int = DEFAULT_LOOPBACK_FAIL

    def __post_init__(self) -> None:
        for word, value in (("mru", self.mru), ("mtu", self.mtu)):
            if value is not None and not MIN_MRU <= value <= MAX_MRU:
                raise ConfigError(f"{word} value {value} out of range {MIN_MRU}..{MAX_MRU}")
        if not 0 <= self.asyncmap <= _ALL_ONES:
            raise ConfigError(f"asyncmap value {self.asyncmap:#x} is not a 32-bit map")
        for protocol in (*self.require_auth, *self.allow_auth):
            if protocol not in _AUTH_OPTIONS:
                raise ConfigError(f"authentication protocol {protocol:#x} is not supported")
        for algorithm in (*self.chap_algorithms, *self.allow_chap_algorithms):
            if algorithm not in _CHAP_ALGORITHMS:
                raise ConfigError(f"CHAP algorithm {algorithm:#x} is not supported")
        if PPPProtocol.CHAP in self.require_auth and not self.chap_algorithms:
            raise ConfigError("CHAP is required but no CHAP algorithm is")
        if self.loopback_fail < 1:
            raise ConfigError(f"loopback failure limit {self.loopback_fail} must be positive")


@dataclass(frozen=True, slots=True)
class LcpResult:
    """What LCP settled, for the framer and the authentication phase (pppd ``lcp_up``).

    Attributes:
        peer_mru: the MRU the peer asked for (1500 if it did not).
        mtu: the largest packet we send: ``peer_mru`` capped by :attr:`LcpConfig.mtu`.
        our_mru: the largest packet we accept: the larger of the MRU we wanted and the one
            the peer acknowledged (1500 if we did not negotiate it).
        peer_accm: the ACCM to use when sending (the peer's; all ones if it sent none).
        our_accm: the ACCM the peer uses when sending to us (all ones if not negotiated).
        tx_pfc: we may compress the Protocol field on transmit (the peer asked for PFC).
        tx_acfc: we may omit Address and Control on transmit (the peer asked for ACFC).
        rx_pfc: the peer may send us compressed Protocol fields (it acknowledged our PFC).
        rx_acfc: the peer may omit Address and Control (it acknowledged our ACFC).
        our_auth: the protocol the peer must authenticate with (we asked, it acknowledged).
        peer_auth: the protocol we must authenticate ourselves with (the peer asked).
        auth_refused: we require authentication but the peer refused every protocol we can
            use; pppd says "peer refused to authenticate: terminating link" and exits 11.
        our_magic: our magic number (0 if not negotiated).
        peer_magic: the peer's magic number (0 if not negotiated).
        peer_endpoint: the peer's Endpoint-Discriminator, if it sent one.
    """

    peer_mru: int
    mtu: int
    our_mru: int
    peer_accm: int
    our_accm: int
    tx_pfc: bool
    tx_acfc: bool
    rx_pfc: bool
    rx_acfc: bool
    our_auth: AuthProtocol | None
    peer_auth: AuthProtocol | None
    auth_refused: bool
    our_magic: int
    peer_magic: int
    peer_endpoint: EndpointDiscriminator | None = None


@dataclass(slots=True)
class LcpStats:
    """Counters of odd input, for diagnostics (every event is also logged at debug level).

    Attributes:
        bad_acks: Configure-Acks that did not echo our request.
        bad_naks: Configure-Naks that did not fit our request.
        bad_rejects: Configure-Rejects that did not fit our request.
        malformed_options: options of a known Type with a wrong length in a peer's request.
        unknown_options: options of an unknown Type in a peer's request.
        magic_collisions: peer requests carrying our own magic number (or zero).
        magic_naks: Configure-Naks of our magic number (pppd's loop counter counts these).
    """

    bad_acks: int = 0
    bad_naks: int = 0
    bad_rejects: int = 0
    malformed_options: int = 0
    unknown_options: int = 0
    magic_collisions: int = 0
    magic_naks: int = 0


@dataclass(frozen=True, slots=True)
class _Request:
    """Our side of the negotiation (pppd's ``want``/``got`` options), request-ready.

    ``None`` or ``False`` means "not in the request". ``auth`` lists the authentication
    options we still find acceptable, best first; only the first is requested.
    """

    mru: int | None = None
    asyncmap: int | None = None
    auth: tuple[AuthProtocol, ...] = ()
    magic_number: int | None = None
    pfc: bool = False
    acfc: bool = False

    def options(self) -> list[Option]:
        """Return the Configure-Request options in pppd's order (ascending Type)."""
        options: list[Option] = []
        if self.mru is not None:
            options.append(Mru(self.mru))
        if self.asyncmap is not None:
            options.append(Accm(self.asyncmap))
        if self.auth:
            options.append(self.auth[0])
        if self.magic_number is not None:
            options.append(MagicNumber(self.magic_number))
        if self.pfc:
            options.append(Pfc())
        if self.acfc:
            options.append(Acfc())
        return options


@dataclass(slots=True)
class _His:
    """What we acknowledged of the peer's request (pppd's ``hisoptions``)."""

    mru: int | None = None
    asyncmap: int | None = None
    auth: AuthProtocol | None = None
    magic_number: int | None = None
    pfc: bool = False
    acfc: bool = False
    endpoint: EndpointDiscriminator | None = None


class LcpNegotiator:
    """LCP's plug-in for the generic automaton (pppd's ``lcp_callbacks``).

    Args:
        config: what to request and accept.
        rng: random bytes, for magic numbers.
        logger: where debug lines go (default ``logging.getLogger("pyppp.lcp")``).
    """

    protocol: ClassVar[int] = PPPProtocol.LCP
    name: ClassVar[str] = "LCP"
    codecs: ClassVar[Mapping[int, type[Option]]] = CODECS

    def __init__(self, config: LcpConfig, rng: Rng, logger: logging.Logger | None = None) -> None:
        self.config = config
        self.stats = LcpStats()
        self._rng = rng
        self._log = logger if logger is not None else logging.getLogger("pyppp.lcp")
        # What we can do when the peer asks us to authenticate (pppd's allowoptions).
        refused_chap: dict[int, bool] = {
            ChapAlgorithm.MD5: config.refuse_chap,
            ChapAlgorithm.MS: config.refuse_mschap,
            ChapAlgorithm.MS_V2: config.refuse_mschap_v2,
        }
        self._can_chap: tuple[int, ...] = tuple(
            dict.fromkeys(a for a in config.allow_chap_algorithms if not refused_chap[a])
        )
        refused: dict[int, bool] = {
            PPPProtocol.PAP: config.refuse_pap,
            PPPProtocol.CHAP: not self._can_chap,
        }
        self._can_auth = frozenset(p for p in config.allow_auth if not refused[p])
        self._want = _Request()
        self._got = _Request()
        self._his = _His()
        self._loops = 0
        self._result: LcpResult | None = None
        self.reset()

    # -- results ---------------------------------------------------------------------------

    @property
    def result(self) -> LcpResult | None:
        """What was negotiated, set by :meth:`up` and cleared by :meth:`down` and :meth:`reset`."""
        return self._result

    @property
    def loops(self) -> int:
        """Consecutive Configure-Naks of our magic number (pppd's ``numloops``)."""
        return self._loops

    @property
    def looped_back(self) -> bool:
        """The line looks looped back: pppd logs "Serial line is looped back." and exits 17."""
        return self._loops >= self.config.loopback_fail

    # -- Negotiator protocol ---------------------------------------------------------------

    def reset(self) -> None:
        """Start a new negotiation: a fresh magic number, ``got`` back to ``want``."""
        config = self.config
        self._want = _Request(
            # RFC 1661 §6.1: 1500 is the default, so pppd does not spend an option on it.
            mru=config.mru if config.mru not in (None, PPP_MRU) else None,
            asyncmap=None if config.default_asyncmap else config.asyncmap,
            auth=self._wanted_auth(),
            magic_number=self._new_magic() if config.magic else None,
            pfc=config.pcomp,
            acfc=config.accomp,
        )
        self._got = self._want
        self._his = _His()
        self._loops = 0
        self._result = None

    def request(self) -> list[Option]:
        """Return our Configure-Request options (pppd ``lcp_addci``)."""
        return self._got.options()

    def on_ack(self, options: Sequence[Option]) -> bool:
        """Check that a Configure-Ack echoes our request exactly (RFC 1661 §5.2).

        Returns:
            ``False`` for a bad Ack, which the automaton discards.
        """
        if list(options) == self.request():
            return True
        self.stats.bad_acks += 1
        self._log.debug("LCP: received bad Ack (does not match our request)")
        return False

    def on_nak(self, options: Sequence[Option], *, rejected: bool) -> bool:
        """Adapt our request to a Configure-Nak or (``rejected``) Configure-Reject.

        Returns:
            ``False`` if the packet does not fit our request; ``got`` is then unchanged.
        """
        if rejected:
            updated = self._apply_reject(options)
            if updated is None:
                self.stats.bad_rejects += 1
                self._log.debug("LCP: received bad Reject")
                return False
        else:
            nak = self._apply_nak(options)
            if nak is None:
                self.stats.bad_naks += 1
                self._log.debug("LCP: received bad Nak")
                return False
            updated, looped = nak
            # pppd counts *consecutive* Naks of our magic number; any other Nak breaks the run.
            self._loops = self._loops + 1 if looped else 0
        self._got = updated
        return True

    def review(self, options: Sequence[Option], *, reject_if_disagree: bool) -> Review:
        """Judge the peer's Configure-Request (pppd ``lcp_reqci``).

        RFC 1661 §5.2-5.4: if any option is unrecognisable or not acceptable, the reply is a
        Configure-Reject of just those; else, if any value is not acceptable, a Configure-Nak
        of just those carrying values we would accept; else a Configure-Ack echoing the
        request. With ``reject_if_disagree`` (Max-Failure reached) what we would Nak is
        rejected instead, except the Magic-Number: rejecting it would hide a looped-back line,
        so pppd keeps Nak'ing it.
        """
        his = _His()
        naks: list[Option] = []
        rejects: list[Option] = []
        for option in options:
            nak = self._judge(option, his)
            if nak is None:
                continue
            if nak is _REJECT or (reject_if_disagree and not isinstance(option, MagicNumber)):
                rejects.append(option)
            else:
                naks.append(nak)
        if rejects:
            return Review(Code.CONF_REJ, tuple(rejects))
        if naks:
            return Review(Code.CONF_NAK, tuple(naks))
        self._his = his
        return Review(Code.CONF_ACK, tuple(options))

    def up(self) -> LcpResult:
        """This-Layer-Up: compute :attr:`result` from ``got`` and ``his`` (pppd ``lcp_up``)."""
        config, got, his = self.config, self._got, self._his
        peer_mru = his.mru if his.mru is not None else PPP_MRU
        # pppd: "If we negotiated an MRU, set our MRU to the larger of value we wanted and the
        # value we got in the negotiation" -- a smaller Nak'd MRU only limits the peer.
        our_mru = max(config.mru or PPP_MRU, got.mru) if got.mru is not None else PPP_MRU
        our_auth = got.auth[0] if got.auth else None
        self._result = LcpResult(
            peer_mru=peer_mru,
            mtu=min(peer_mru, config.mtu if config.mtu is not None else MAX_MRU),
            our_mru=our_mru,
            peer_accm=his.asyncmap if his.asyncmap is not None else _ALL_ONES,
            our_accm=got.asyncmap if got.asyncmap is not None else _ALL_ONES,
            tx_pfc=his.pfc,
            tx_acfc=his.acfc,
            rx_pfc=got.pfc,
            rx_acfc=got.acfc,
            our_auth=our_auth,
            peer_auth=his.auth,
            auth_refused=bool(config.require_auth) and our_auth is None,
            our_magic=got.magic_number or 0,
            peer_magic=his.magic_number or 0,
            peer_endpoint=his.endpoint,
        )
        return self._result

    def down(self) -> None:
        """This-Layer-Down: the negotiated values no longer apply."""
        self._result = None

    # -- helpers ---------------------------------------------------------------------------

    def _new_magic(self) -> int:
        # RFC 1661 §6.4: zero is not a valid magic number.
        return int.from_bytes(self._rng(4), "big") or 1

    def _wanted_auth(self) -> tuple[AuthProtocol, ...]:
        """The options we may request, best first: each CHAP algorithm stands for CHAP."""
        wanted: list[AuthProtocol] = []
        for protocol in dict.fromkeys(self.config.require_auth):
            if protocol == PPPProtocol.CHAP:
                wanted.extend(_chap_option(a) for a in dict.fromkeys(self.config.chap_algorithms))
            else:
                wanted.append(_AUTH_OPTIONS[protocol])
        return tuple(wanted)

    def _preferred_auth(self, *, excluding: int | None = None) -> Option:
        """The protocol to suggest in a Nak: CHAP (our best algorithm) before PAP, as pppd."""
        for protocol in (PPPProtocol.CHAP, PPPProtocol.PAP):
            if protocol in self._can_auth and protocol != excluding:
                if protocol == PPPProtocol.CHAP:
                    return _chap_option(self._can_chap[0])
                return _AUTH_OPTIONS[protocol]
        return _REJECT

    def _judge(self, option: Option, his: _His) -> Option | None:
        """Return ``None`` to Ack ``option``, ``_REJECT`` to reject it, else the Nak value."""
        config = self.config
        match option:
            case Mru(mru=mru):
                if config.mru is None:
                    return _REJECT
                if mru < MIN_MRU:
                    # pppd: "He must be able to receive at least our minimum" -- and it
                    # suggests that minimum, not 1500.
                    return Mru(MIN_MRU)
                his.mru = mru
            case Accm(asyncmap=asyncmap):
                if config.default_asyncmap:
                    return _REJECT
                his.asyncmap = asyncmap
            case AuthProtocol():
                return self._judge_auth(option, his)
            case MagicNumber(magic_number=magic):
                # pppd also accepts it after the peer rejected ours, since it is still allowed.
                if not config.magic:
                    return _REJECT
                # RFC 1661 §6.4: a peer using our own number is probably us (a looped-back
                # line) and "A Magic-Number of zero is illegal and MUST always be Nak'd".
                if magic == 0 or magic == self._got.magic_number:
                    self.stats.magic_collisions += 1
                    self._log.debug("LCP: peer's Magic-Number %#x collides; Nak'ing", magic)
                    return MagicNumber(self._new_magic())
                his.magic_number = magic
            case Pfc():
                if not config.pcomp:
                    return _REJECT
                his.pfc = True
            case Acfc():
                if not config.accomp:
                    return _REJECT
                his.acfc = True
            case EndpointDiscriminator(address=address):
                # pppd accepts (and ignores, without multilink) the peer's discriminator.
                if len(address) > _MAX_ENDPOINT_ADDRESS:
                    return _REJECT
                his.endpoint = option
            case UnknownOption(type=option_type, data=data):
                if option_type in CODECS:
                    self.stats.malformed_options += 1
                    self._log.debug(
                        "LCP: malformed option %d (%d data octets)", option_type, len(data)
                    )
                else:
                    self.stats.unknown_options += 1
                    self._log.debug("LCP: unknown option %d", option_type)
                return _REJECT
            case _:
                # Quality-PPPProtocol, Callback, MRRU, Short-Sequence: recognised, not supported.
                return _REJECT
        return None

    def _judge_auth(self, option: AuthProtocol, his: _His) -> Option | None:
        """Judge the peer's Authentication-Protocol: what it wants us to do (pppd logic)."""
        if not self._can_auth:
            self._log.debug("LCP: No auth is possible")
            return _REJECT
        if option.protocol == PPPProtocol.PAP:
            # pppd rejects a second, different Authentication-Protocol in one request.
            if option.data or (his.auth is not None and his.auth.protocol != PPPProtocol.PAP):
                return _REJECT
            if PPPProtocol.PAP not in self._can_auth:
                return self._preferred_auth(excluding=PPPProtocol.PAP)
        elif option.protocol == PPPProtocol.CHAP:
            if len(option.data) != 1 or (
                his.auth is not None and his.auth.protocol != PPPProtocol.CHAP
            ):
                return _REJECT
            if PPPProtocol.CHAP not in self._can_auth:
                return self._preferred_auth(excluding=PPPProtocol.CHAP)
            if option.algorithm not in self._can_chap:
                # pppd: "We can't/won't do the requested type, suggest something else."
                return _chap_option(self._can_chap[0])
        else:
            # EAP, or a protocol we do not know: suggest one we can do.
            return self._preferred_auth()
        his.auth = option
        return None

    def _apply_nak(self, options: Sequence[Option]) -> tuple[_Request, bool] | None:
        """Return the adjusted request and whether our magic number was Nak'd, or ``None``.

        RFC 1661 §5.3: the Nak'd options we sent come back in our order with values the
        peer would accept; options we did not send may be appended to suggest we negotiate
        them. pppd takes that hint only for a smaller MRU; the rest we were configured not
        to ask for.
        """
        got = self._got
        sent = {option.option_type: index for index, option in enumerate(got.options())}
        updated = got
        looped = False
        last_index = -1
        seen: set[int] = set()
        for option in options:
            option_type = option.option_type
            if isinstance(option, UnknownOption):
                if option_type in CODECS:
                    return None  # pppd: a known option of the wrong length makes the Nak bad
                continue  # the peer hinting at an option we do not know: ignore it
            if option_type in seen:
                return None
            seen.add(option_type)
            index = sent.get(option_type)
            if index is None:
                if isinstance(option, Mru) and option.mru < PPP_MRU:
                    updated = replace(updated, mru=option.mru)
                continue
            if index < last_index:
                return None
            last_index = index
            match option:
                case Mru(mru=mru):
                    # Smaller than asked is fine (it only limits the peer); larger only up
                    # to what we wanted or the default.
                    wanted = self.config.mru or PPP_MRU
                    if mru <= wanted or mru <= PPP_MRU:
                        updated = replace(updated, mru=mru)
                case Accm(asyncmap=asyncmap):
                    # The peer needs more characters escaped: add them to ours.
                    updated = replace(updated, asyncmap=(updated.asyncmap or 0) | asyncmap)
                case AuthProtocol():
                    auth = self._next_auth(got.auth, option)
                    if auth is None:
                        return None
                    updated = replace(updated, auth=auth)
                case MagicNumber():
                    # The peer saw its own number in our request: on a looped-back line it
                    # is ours. Try another one; the caller counts the loops.
                    self.stats.magic_naks += 1
                    updated = replace(updated, magic_number=self._new_magic())
                    looped = True
                case Pfc():
                    # RFC 1661 §6.5 wants a Reject here; pppd treats a Nak as one.
                    updated = replace(updated, pfc=False)
                case Acfc():
                    updated = replace(updated, acfc=False)
        return updated, looped

    @staticmethod
    def _next_auth(
        candidates: tuple[AuthProtocol, ...], suggestion: AuthProtocol
    ) -> tuple[AuthProtocol, ...] | None:
        """What to ask for after a Nak of our Authentication-Protocol (pppd ``lcp_nakci``).

        Nak'd while asking for CHAP: a CHAP algorithm we accept is taken (the only one left
        of CHAP); another algorithm moves on to our next; any other protocol (PAP, or one we
        do not know) ends CHAP altogether. Nak'd while asking for PAP: PAP is dropped. What
        remains may be nothing: the peer has then refused to authenticate, which
        :attr:`LcpResult.auth_refused` reports after This-Layer-Up.

        Returns:
            The new candidates, or ``None`` for a bad Nak (our own choice suggested back).
        """
        current = candidates[0]
        if suggestion == current:
            return None  # Nak'd our choice but suggested it back (pppd: a bad Nak)
        if current.protocol != PPPProtocol.CHAP:
            return candidates[1:]
        others = tuple(c for c in candidates if c.protocol != PPPProtocol.CHAP)
        if suggestion.protocol != PPPProtocol.CHAP or suggestion.algorithm is None:
            return others
        if suggestion in candidates:
            return (suggestion, *others)
        return candidates[1:]

    def _apply_reject(self, options: Sequence[Option]) -> _Request | None:
        """Return the request without the rejected options, or ``None`` for a bad Reject.

        RFC 1661 §5.4: the rejected options are a subset of our request, in our order, with
        their values unchanged.
        """
        sent = self._got.options()
        updated = self._got
        position = 0
        for option in options:
            try:
                position = sent.index(option, position) + 1
            except ValueError:
                return None
            match option:
                case Mru():
                    updated = replace(updated, mru=None)
                case Accm():
                    updated = replace(updated, asyncmap=None)
                case AuthProtocol():
                    # pppd stops asking for any authentication once one is rejected.
                    updated = replace(updated, auth=())
                case MagicNumber():
                    updated = replace(updated, magic_number=None)
                case Pfc():
                    updated = replace(updated, pfc=False)
                case Acfc():
                    updated = replace(updated, acfc=False)
        return updated
