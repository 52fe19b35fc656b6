"""MPPE as a CCP method (RFC 3078 §2): pppd's policy, the engines, and the link's gate.

The cipher, the key schedule and the option-18 codec are in :mod:`pyppp.mppe`; this module
plugs them into CCP the way pppd's ``ccp.c`` runs them:

* MPPE is negotiated only when required (``require-mppe``, ``require-mppe-40``,
  ``require-mppe-128``; pppd has no "allow MPPE if the peer asks"): then it is the only
  method, in both directions (pppd: "MPPE is not compatible with other compression types"),
  so Deflate is neither asked for nor accepted;
* its keys come from MS-CHAP (:class:`~pyppp.auth.base.MppeKeys` on the
  :class:`~pyppp.auth.base.AuthSuccess`): with PAP, CHAP-MD5 or no authentication there are
  none and the link is closed before CCP starts ("MPPE required, but MS-CHAP[v2] auth not
  performed."), as it is when MS-CHAP ran both ways (pppd cannot tell which keys to use);
  after MS-CHAP (v1) 40-bit is dropped ("Disabling 40-bit MPPE; MS-CHAP LM not supported");
  when RADIUS judged the caller, the keys are the server's and its MS-MPPE-Encryption-Types
  may drop one strength more (:attr:`~pyppp.auth.base.MppeKeys.allow_40`, ``allow_128``);
* :class:`MppeGate` is what the link consults: IPCP and IPv6CP wait until CCP is up with
  MPPE both ways (pppd ``start_networks``/``continue_networks``), and CCP failing, going down
  or negotiating anything else closes the link, so no IP datagram is ever sent or accepted in
  clear (the data path also refuses to send IP while no compressor runs, as Linux's
  ``SC_MUST_COMP``, and an unencrypted IP datagram received is dropped).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from pyppp.auth.base import MppeKeys
from pyppp.ccp.method import CcpMethod, DecompressError, Verdict
from pyppp.events import AuthMethod, Role
from pyppp.mppe import (
    OPTION_TYPE,
    Decrypted,
    MppeDecryptor,
    MppeEncryptor,
    MppeFlags,
    MppeMode,
    MppeOption,
    MppeStats,
    method_name,
    on_nak,
    review,
)
from pyppp.options import Option
from pyppp.packet import Code
from pyppp.util import NOTICE

__all__ = ["MppeCompressor", "MppeConfig", "MppeDecompressor", "MppeGate", "MppePolicy"]

_STRENGTHS = MppeFlags.BITS_40 | MppeFlags.BITS_128
_MS_CHAP = (AuthMethod.MSCHAP, AuthMethod.MSCHAP_V2)
_NOT_AVAILABLE = "MPPE required but not available"
_NEGOTIATION_FAILED = "MPPE required but peer negotiation failed"


@dataclass(frozen=True, slots=True)
class MppeConfig:
    """pppd's MPPE words, as the link needs them (``ccp.c`` ``ccp_wantoptions.mppe``).

    Attributes:
        bits_40: 40-bit keys allowed (``require-mppe``, ``require-mppe-40``; ``nomppe-40``).
        bits_128: 128-bit keys allowed (``require-mppe``, ``require-mppe-128``).
        stateful: ``mppe-stateful``: accept stateful mode (stateless is still asked for).
        prefer_stateful: pyppp's ``mppe-prefer-stateful`` (with ``stateful``): ask for
            stateful mode, and Nak a stateless request once with a stateful suggestion.
            pppd never asks for it, it only accepts it (with ``mppe-stateful``; without, it
            closes the link), so this is how stateful MPPE runs against pppd.
    """

    bits_40: bool = True
    bits_128: bool = True
    stateful: bool = False
    prefer_stateful: bool = False

    @property
    def flags(self) -> MppeFlags:
        """The strengths in pppd's terms."""
        flags = MppeFlags.NONE
        if self.bits_40:
            flags |= MppeFlags.BITS_40
        if self.bits_128:
            flags |= MppeFlags.BITS_128
        return flags


class MppeCompressor:
    """CCP's compressor for MPPE: encrypts every network-layer datagram."""

    def __init__(self, encryptor: MppeEncryptor) -> None:
        self.encryptor = encryptor

    @property
    def stats(self) -> MppeStats:
        """The encryptor's counters."""
        return self.encryptor.stats

    def compress(self, protocol: int, payload: bytes) -> bytes | None:
        """The MPPE packet for a datagram; ``None`` only for what MPPE never encrypts."""
        if protocol not in MppeEncryptor.ENCRYPTED_PROTOCOLS:
            return None
        return self.encryptor.encrypt(protocol, payload)

    def reset(self) -> None:
        """The peer's Reset-Request (our Reset-Ack goes out): rekey on the next packet."""
        self.encryptor.reset()


class MppeDecompressor:
    """CCP's decompressor for MPPE: decrypts; a refused packet is a :class:`DecompressError`.

    Attributes:
        clear_dropped: unencrypted network-layer datagrams that arrived (and were dropped).
    """

    encrypted_only = True
    """The link drops every unencrypted network-layer datagram while this runs."""

    def __init__(self, decryptor: MppeDecryptor) -> None:
        self.decryptor = decryptor
        self.clear_dropped = 0

    @property
    def stats(self) -> MppeStats:
        """The decryptor's counters."""
        return self.decryptor.stats

    def decompress(self, information: bytes) -> tuple[int, bytes]:
        """Decrypt one MPPE packet.

        Raises:
            DecompressError: refused (``fatal`` after a run of impossible packets: pppd
                closes CCP, and the gate the link).
        """
        result = self.decryptor.decrypt(information)
        if isinstance(result, Decrypted):
            return result.protocol, result.information
        raise DecompressError(f"MPPE: {result.reason.value}", fatal=result.fatal)

    def incompressible(self, protocol: int, payload: bytes) -> None:
        """A frame came in clear; the link drops it if it is a network-layer datagram."""
        if protocol in MppeEncryptor.ENCRYPTED_PROTOCOLS:
            self.clear_dropped += 1

    def reset(self) -> None:
        """The peer's Reset-Ack: the next flushed packet resynchronises (nothing to do)."""
        self.decryptor.reset()


class MppePolicy:
    """pppd's handling of CCP option 18 (a :class:`~pyppp.ccp.method.MethodPolicy`).

    Args:
        config: the MPPE words.
        logger: where pppd's lines go.

    Attributes:
        failure: why negotiation failed (pppd closes LCP with it), or ``None``.
    """

    types = frozenset({OPTION_TYPE})

    def __init__(self, config: MppeConfig, logger: logging.Logger | None = None) -> None:
        self.config = config
        self.logger = logger or logging.getLogger("pyppp")
        self.keys: MppeKeys | None = None
        self._ms_chap: list[tuple[Role, AuthMethod]] = []
        self._allow = config.flags
        self._want = config.flags
        self._suggested_stateful = False
        self.failure: str | None = None

    # -- what the link tells it ----------------------------------------------------------------
    def authenticated(self, role: Role, method: AuthMethod, keys: MppeKeys | None) -> None:
        """One direction of authentication succeeded (with MS-CHAP: its keys)."""
        if method in _MS_CHAP:
            self._ms_chap.append((role, method))
            if keys is not None:
                self.keys = keys

    def forget(self) -> None:
        """The link went down: the next call authenticates afresh."""
        self.keys = None
        self._ms_chap.clear()
        self.failure = None

    def check(self) -> str | None:
        """Can MPPE run? pppd's checks in ``ccp_resetci``, logged as pppd logs them.

        Returns:
            ``None``, or the reason to close the link with ("MPPE required but not
            available").
        """
        self.failure = None
        self._allow = self.config.flags
        if len(self._ms_chap) > 1:
            self.logger.error("MPPE required, but auth done in both directions.")
            return _NOT_AVAILABLE
        if not self._ms_chap:
            self.logger.error("MPPE required, but MS-CHAP[v2] auth not performed.")
            return _NOT_AVAILABLE
        if self.keys is None:
            self.logger.error(
                "MPPE required, but keys are not available.  Possible plugin problem?"
            )
            return _NOT_AVAILABLE
        if self._ms_chap[0][1] is AuthMethod.MSCHAP and self._allow & MppeFlags.BITS_40:
            self.logger.log(NOTICE, "Disabling 40-bit MPPE; MS-CHAP LM not supported")
            self._allow &= ~MppeFlags.BITS_40
        # RADIUS's MS-MPPE-Encryption-Types (pppd mppe_set_enc_types): it only takes away.
        for allowed, bits, name in (
            (self.keys.allow_40, MppeFlags.BITS_40, "40"),
            (self.keys.allow_128, MppeFlags.BITS_128, "128"),
        ):
            if not allowed and self._allow & bits:
                self.logger.debug("MPPE: %s-bit disabled by the RADIUS server", name)
                self._allow &= ~bits
        if not self._allow & _STRENGTHS:
            self.logger.error("MPPE required, but both 40-bit and 128-bit disabled.")
            return _NOT_AVAILABLE
        self.reset()
        return None

    # -- MethodPolicy --------------------------------------------------------------------------
    def reset(self) -> None:
        """A new negotiation: ask for every strength we allow, stateless (pppd)."""
        self._want = self._allow
        if self.config.prefer_stateful and self.config.stateful:
            self._want |= MppeFlags.STATEFUL
        self._suggested_stateful = False

    def request(self) -> Sequence[Option]:
        """Option 18 with H set and S and/or L; nothing once the peer made MPPE impossible."""
        if self.failure is not None or not self._want & _STRENGTHS:
            return []
        return [MppeOption.from_flags(self._want)]

    def on_nak(self, option: Option) -> None:
        """Take the peer's suggestion if it is a subset of what we asked (pppd ``nakci``)."""
        if not isinstance(option, MppeOption):
            return
        following = on_nak(self._want, option, allow_stateful=self.config.stateful)
        if following is None:
            if option.flags & MppeFlags.STATEFUL and not self.config.stateful:
                self.logger.error("Refusing MPPE stateful mode offered by peer")
            self.fail(_NEGOTIATION_FAILED)
            return
        self._want = following

    def on_reject(self, option: Option) -> None:
        """The peer will not do MPPE: pppd closes the link."""
        self.fail("MPPE required but peer refused")

    def review(self, option: Option, *, first: bool, reject_if_disagree: bool) -> Verdict:
        """Judge the peer's option 18 (pppd ``reqci``); a Reject of it closes the link."""
        if not isinstance(option, MppeOption):
            return Verdict(Code.CONF_REJ, option)
        verdict = review(option, self._allow, allow_stateful=self.config.stateful)
        if verdict.refused_stateful:
            self.logger.error("Refusing MPPE stateful mode offered by peer")
        code = verdict.code
        suggestion = verdict.option
        if (
            code is Code.CONF_ACK
            and self.config.prefer_stateful
            and self.config.stateful
            and not option.flags & MppeFlags.STATEFUL
            and not self._suggested_stateful
            and not reject_if_disagree
        ):
            # mppe-prefer-stateful: suggest stateful once; a peer that insists gets its way.
            self._suggested_stateful = True
            code = Code.CONF_NAK
            suggestion = MppeOption.from_flags(option.flags | MppeFlags.STATEFUL)
        if code is Code.CONF_NAK and reject_if_disagree:
            code = Code.CONF_REJ
        if code is Code.CONF_REJ:
            self.fail(_NEGOTIATION_FAILED)
            return Verdict(code, option)
        return Verdict(code, suggestion)

    def describe(self, ours: Option, other: Option | None) -> str:
        """Pppd's ``method_name``: "MPPE 128-bit stateless" (the other direction is not named)."""
        assert isinstance(ours, MppeOption)
        return method_name(ours.flags)

    def compressor(self, option: Option) -> MppeCompressor:
        """Encrypt with our send key as the peer asked (its acknowledged request)."""
        assert isinstance(option, MppeOption)
        assert self.keys is not None
        return MppeCompressor(MppeEncryptor(self.keys.send_key, MppeMode.from_flags(option.flags)))

    def decompressor(self, option: Option, mru: int) -> MppeDecompressor:
        """Decrypt with our receive key as we asked (our acknowledged request)."""
        assert isinstance(option, MppeOption)
        assert self.keys is not None
        return MppeDecompressor(
            MppeDecryptor(self.keys.recv_key, MppeMode.from_flags(option.flags))
        )

    def fail(self, reason: str) -> None:
        """MPPE cannot run: log pppd's line once and remember why."""
        if self.failure is None:
            self.logger.error("%s", reason)
            self.failure = reason


class MppeGate:
    """What the link asks before and after CCP when MPPE is required (pppd's MPPE rules).

    Args:
        policy: the CCP's MPPE policy.
    """

    def __init__(self, policy: MppePolicy) -> None:
        self.policy = policy
        self.running = False

    def authenticated(self, role: Role, method: AuthMethod, keys: MppeKeys | None) -> None:
        """One direction of authentication succeeded (with MS-CHAP: its keys, MPPE's start)."""
        self.policy.authenticated(role, method, keys)

    def forget(self) -> None:
        """LCP went down: the next authentication brings new keys."""
        self.policy.forget()

    def start(self) -> str | None:
        """The network phase begins: ``None`` to open CCP alone (IP waits), else why to close."""
        self.running = False
        return self.policy.check()

    def up(self, receive: CcpMethod | None, transmit: CcpMethod | None) -> str | None:
        """CCP is up: ``None`` when MPPE runs both ways (the network protocols may start)."""
        if self.policy.failure is not None:
            return self.policy.failure
        for method in (receive, transmit):
            if method is None or not isinstance(method.option, MppeOption):
                self.policy.logger.error("%s", _NEGOTIATION_FAILED)
                return _NEGOTIATION_FAILED
        self.running = True
        return None

    def down(self, why: str | None = None) -> str:
        """CCP went down (``why``) or gave up: pppd closes the link with the reason returned."""
        if self.running and why == "Lost compression sync":
            # pppd ccp_datainput, after "Lost compression sync: disabling compression"
            self.running = False
            self.policy.logger.error("Too many MPPE errors, closing LCP")
            return "Too many MPPE errors"
        if self.running:
            self.running = False
            # pppd ccp_down
            self.policy.logger.error("MPPE disabled")
            return "MPPE disabled"
        if self.policy.failure is None:
            # pppd ccp_protrej: CCP itself was refused, or gave up.
            self.policy.fail(_NEGOTIATION_FAILED)
        return self.policy.failure or _NEGOTIATION_FAILED
