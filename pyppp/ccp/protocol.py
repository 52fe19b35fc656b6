"""The CCP automaton with Reset-Request/Reset-Ack, holding the running engines (RFC 1962 §5).

CCP adds two codes to the seven every control protocol has: Reset-Request (14) and Reset-Ack
(15). They resynchronise a history-keeping method after a datagram was lost or corrupted:

* when the decompressor fails on a datagram (:class:`~pyppp.ccp.method.DecompressError`
  that is not fatal), we send a Reset-Request with a new Identifier and drop compressed
  datagrams until a Reset-Ack arrives; a failure while one is outstanding is only noted, and
  when the 1 s timer runs out the request is repeated (pppd ``ccp_datainput``/
  ``ccp_rack_timeout``). pppd repeats it once, and only if another failure came meanwhile;
  pyppp repeats it every second for as long as the decompressor waits, up to
  :data:`MAX_RESET_REPEATS` times. With pppd's rule a lost Reset-Ack (or a lost repeat)
  left the decompressor waiting for the next compressed datagram, which it then had to drop
  to ask again: on a noisy line TCP's retransmission was that datagram, so each lost Ack cost
  a retransmission timeout, doubled every time (14 s in one e2e run at a bit error rate of
  1e-4). The peer answers a repeat like any Reset-Request, so both ends stay in step;
* a Reset-Request from the peer, in Opened, is answered with a Reset-Ack carrying its
  Identifier, and our compressor starts afresh at that moment (Linux resets it as the Ack
  goes out, so the Ack is the first packet of the new history);
* any Reset-Ack from the peer resets our decompressor (the peer sends one only after resetting
  its compressor); it ends the wait if it answers our outstanding request.

A fatal error closes CCP (pppd: "Lost compression sync: disabling compression"). The engines
are built at This-Layer-Up from the negotiated result and dropped at This-Layer-Down; the link
calls :meth:`CcpControlProtocol.compress` and :meth:`CcpControlProtocol.decompress` on its data
path, and reads the counters for its status.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Final, TypeVar

from pyppp.ccp.method import Compressor, DecompressError, Decompressor, MethodPolicy
from pyppp.ccp.negotiator import CcpConfig, CcpNegotiator, CcpResult, method_policies
from pyppp.control import PPP_MRU, ControlProtocol, Report
from pyppp.fsm import FsmConfig, FsmEvent
from pyppp.mppe import MppeEncryptor
from pyppp.packet import ControlPacket, PPPProtocol
from pyppp.util import NOTICE, earliest

if TYPE_CHECKING:
    from pyppp.status import CompressionStatus

__all__ = [
    "MAX_RESET_REPEATS",
    "QUIET_SPELL",
    "RESET_ACK",
    "RESET_ACK_TIMEOUT",
    "RESET_REQ",
    "CcpControlProtocol",
    "build_ccp",
]

RESET_REQ: Final = 14
"""Reset-Request (RFC 1962 §5.1)."""
RESET_ACK: Final = 15
"""Reset-Ack (RFC 1962 §5.2)."""
RESET_ACK_TIMEOUT: Final = 1.0
"""pppd's RACKTIMEOUT: seconds to wait for a Reset-Ack before a repeat."""
QUIET_SPELL: Final = 0.5
"""Seconds without a datagram sent after which the next few go uncompressed (Deflate): longer
than a bulk transfer pauses, shorter than the TCP retransmission timeouts a noisy line causes."""
MAX_RESET_REPEATS: Final = 10
"""Repeats of one Reset-Request while the decompressor waits for its Ack (pppd: one, and
only after another failure); then the wait ends and the next failure asks afresh."""
# Linux hands every uncompressed frame below this to the decompressor (ppp_decompress_frame).
_COMPRESSIBLE_BELOW: Final = 0x4000

P = TypeVar("P", bound=MethodPolicy)


class CcpControlProtocol(ControlProtocol[CcpResult]):
    """CCP: the automaton plus Reset-Request/Ack and the running compressor/decompressor.

    Args:
        negotiator: the CCP policy.
        config: automaton counters and flags.
        report: where events go.
        logger: where pppd's lines go.

    Attributes:
        mru: the largest datagram a decompressor may give out: our MRU as LCP settled it
            (:meth:`set_our_mru`), 1500 before that; the engines take it at This-Layer-Up.
        result: the negotiated methods while Opened, else ``None``.
        compressor, decompressor: the running engines while Opened (``None`` for a direction
            without a method).
        sent_uncompressed, sent_compressed: octets given to the compressor, and what it put
            on the line for them (the compressed datagrams' Information, or the frames sent
            as they were).
        received_compressed, received_uncompressed: octets of compressed datagrams received,
            and what they decompressed to.
        resets_sent, resets_received: Reset-Requests sent and received.
        errors: datagrams the decompressor failed on.
    """

    negotiator: CcpNegotiator

    def __init__(
        self,
        negotiator: CcpNegotiator,
        config: FsmConfig | None = None,
        *,
        report: Report | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        super().__init__(negotiator, config, report=report, logger=logger)
        self.mru = PPP_MRU
        self.result: CcpResult | None = None
        self.compressor: Compressor | None = None
        self.decompressor: Decompressor | None = None
        self._reset_id = 0
        self._encrypted_only = False
        # Linux's SC_DC_ERROR: compressed datagrams are dropped until a Reset-Ack.
        self._error = False
        # pppd's RACK_PENDING and RREQ_REPEAT.
        self._ack_pending = False
        self._repeat = False
        self._repeats = 0  # repeats of the outstanding Reset-Request so far
        self._last_send: float | None = None  # when datagrams were last compressed
        self._ack_deadline: float | None = None
        self.sent_uncompressed = self.sent_compressed = 0
        self.received_compressed = self.received_uncompressed = 0
        self.resets_sent = self.resets_received = self.errors = 0

    def set_our_mru(self, mru: int) -> None:
        """LCP opened with ``mru`` as ours: what the peer's datagrams may decompress to.

        Never below 1500 (RFC 1661 §6.1: "an implementation MUST be able to receive the full
        1500 octet Information field"), as the framer.
        """
        self.mru = max(mru, PPP_MRU)

    def policy(self, kind: type[P]) -> P | None:
        """The policy of the method ``kind`` that this CCP negotiates, if it runs one.

        Args:
            kind: a :class:`~pyppp.ccp.method.MethodPolicy` class (``MppePolicy``...).

        Returns:
            The first of our policies that is a ``kind``, or ``None``.
        """
        return next((p for p in self.negotiator.policies if isinstance(p, kind)), None)

    # -- This-Layer-Up/Down ------------------------------------------------------------------
    def this_layer_up(self, result: CcpResult, now: float) -> None:
        """Build the engines for the negotiated methods (Linux: at the Configure-Ack)."""
        for level, line in result.messages:
            self.logger.log(level, "%s", line)
        self.result = result
        transmit, receive = result.transmit, result.receive
        self.compressor = transmit.policy.compressor(transmit.option) if transmit else None
        self.decompressor = (
            receive.policy.decompressor(receive.option, self.mru) if receive else None
        )
        self._error = self._ack_pending = self._repeat = False
        self._ack_deadline = None
        self._last_send = None
        # MPPE: a network-layer datagram in clear is refused while the peer must encrypt.
        self._encrypted_only = bool(getattr(self.decompressor, "encrypted_only", False))

    def this_layer_down(self, now: float) -> None:
        """No more compression either way."""
        self.result = None
        self.compressor = self.decompressor = None
        self._error = self._ack_pending = self._repeat = False
        self._ack_deadline = None

    def receive(self, information: bytes, now: float) -> None:
        """One CCP packet; a Terminate-Request that ends Opened gets pppd's notice."""
        was_opened = self.is_opened
        super().receive(information, now)
        if was_opened and not self.is_opened and information[:1] == b"\x05":
            # pppd ccp.c ccp_input
            self.logger.log(NOTICE, "Compression disabled by peer.")

    # -- the data path -----------------------------------------------------------------------
    def before_send(self, now: float) -> None:
        """Datagrams are about to be compressed at ``now`` (the link's send calls).

        After :data:`QUIET_SPELL` seconds without one, a method that can (Deflate's
        ``after_quiet``) sends the next few as they are: see
        :meth:`pyppp.ccp.deflate.DeflateCompressor.after_quiet`.
        """
        last, self._last_send = self._last_send, now
        if last is None or now - last < QUIET_SPELL:
            return
        after_quiet = getattr(self.compressor, "after_quiet", None)
        if after_quiet is not None:
            after_quiet()

    def compress(self, protocol: int, payload: bytes) -> bytes | None:
        """The Information of the compressed datagram for this frame, or ``None`` (send as is)."""
        compressor = self.compressor
        if compressor is None:
            return None
        compressed = compressor.compress(protocol, payload)
        self.sent_uncompressed += len(payload) + 2
        self.sent_compressed += len(payload) + 2 if compressed is None else len(compressed) + 2
        return compressed

    def decompress(self, information: bytes, now: float) -> tuple[int, bytes] | None:
        """The protocol and payload of a compressed datagram, or ``None`` (dropped)."""
        decompressor = self.decompressor
        if decompressor is None or not self.is_opened:
            self._discard("compressed datagram without a decompressor")
            return None
        if self._error:
            # Linux drops compressed frames until the Reset-Ack; pppd asks again for each.
            self._discard("compressed datagram while waiting for the Reset-Ack")
            self._send_reset_request(now)
            return None
        try:
            protocol, payload = decompressor.decompress(information)
        except DecompressError as exc:
            self.errors += 1
            self.logger.debug("CCP: decompression failed: %s", exc)
            if exc.fatal:
                # pppd ccp.c ccp_datainput
                self.logger.error("Lost compression sync: disabling compression")
                self.close("Lost compression sync", now)
            else:
                self._error = True
                self._send_reset_request(now)
            return None
        self.received_compressed += len(information) + 2
        self.received_uncompressed += len(payload) + 2
        return protocol, payload

    def expand(self, protocol: int, information: bytes, now: float) -> tuple[int, bytes] | None:
        """One received frame through the decompressor (the data path's receive stage).

        Returns:
            A compressed datagram's protocol and payload; any other frame unchanged (a
            protocol below 0x4000 advances the history); ``None`` when it is dropped.
        """
        if protocol == PPPProtocol.COMP:
            return self.decompress(information, now)
        if protocol < _COMPRESSIBLE_BELOW:
            self.incompressible(protocol, information)
            if self._encrypted_only and protocol in MppeEncryptor.ENCRYPTED_PROTOCOLS:
                self._discard("unencrypted datagram while MPPE runs")
                return None
        return protocol, information

    def status(self) -> CompressionStatus | None:
        """What compression does now (``Link.compression_stats``), or ``None`` without a method."""
        # Imported here: pyppp.status imports the link, which imports this module.
        from pyppp.status import CompressionStatus

        result = self.result
        if result is None or (result.transmit is None and result.receive is None):
            return None
        return CompressionStatus(
            transmit=result.transmit.name() if result.transmit else None,
            receive=result.receive.name() if result.receive else None,
            sent_uncompressed=self.sent_uncompressed,
            sent_compressed=self.sent_compressed,
            received_compressed=self.received_compressed,
            received_uncompressed=self.received_uncompressed,
        )

    def reopen(self, now: float) -> None:
        """SIGUSR2 (pppd ``open_ccp``): open CCP again, asking for our methods this time.

        In Opened nothing changes (pppd's ``fsm_open`` without the restart option); after
        "Lost compression sync" closed it, CCP negotiates afresh.
        """
        wants = self.negotiator.wants_compression
        self.automaton.config = replace(self.automaton.config, silent=not wants)
        self.open(now)

    def incompressible(self, protocol: int, payload: bytes) -> None:
        """A frame arrived uncompressed: the decompressor's history follows the sender's."""
        decompressor = self.decompressor
        if decompressor is not None and not self._error:
            decompressor.incompressible(protocol, payload)

    # -- Reset-Request/Ack -------------------------------------------------------------------
    def _send_reset_request(self, now: float) -> None:
        if self._ack_pending:
            self._repeat = True
            return
        self._reset_id = self.next_identifier()
        self.send(ControlPacket(RESET_REQ, self._reset_id))
        self.resets_sent += 1
        self._repeats = 0
        self._ack_pending = True
        self._ack_deadline = now + RESET_ACK_TIMEOUT

    def receive_extended(self, packet: ControlPacket, now: float) -> FsmEvent | None:
        """Reset-Request and Reset-Ack (RFC 1962 §5); other codes get a Code-Reject."""
        if packet.code == RESET_REQ:
            if self.is_opened:
                self.resets_received += 1
                self.send(ControlPacket(RESET_ACK, packet.identifier))
                if self.compressor is not None:
                    self.compressor.reset()
            return FsmEvent.RXR
        if packet.code == RESET_ACK:
            if self.is_opened:
                if self.decompressor is not None:
                    self.decompressor.reset()
                self._error = False
                if self._ack_pending and packet.identifier == self._reset_id:
                    self._ack_pending = self._repeat = False
                    self._ack_deadline = None
            return FsmEvent.RXR
        return None

    def get_timer(self) -> float | None:
        """The earlier of the Restart timer and the Reset-Ack wait."""
        return earliest((super().get_timer(), self._ack_deadline))

    def handle_timer(self, now: float) -> None:
        """Run the Restart timer, and repeat an unanswered Reset-Request (module docstring)."""
        super().handle_timer(now)
        if self._ack_deadline is None or now < self._ack_deadline:
            return
        # pppd repeats only after another failure (RREQ_REPEAT); a decompressor that still
        # waits (SC_DC_ERROR) asks again too, a bounded number of times.
        waiting = self._repeat or self._error
        if self.is_opened and waiting and self._repeats < MAX_RESET_REPEATS:
            self._repeats += 1
            self.send(ControlPacket(RESET_REQ, self._reset_id))
            self.resets_sent += 1
            self._repeat = False
            self._ack_deadline = now + RESET_ACK_TIMEOUT
        else:
            self._ack_pending = False
            self._ack_deadline = None


def build_ccp(
    config: CcpConfig,
    fsm: FsmConfig | None = None,
    *,
    report: Report | None = None,
    logger: logging.Logger | None = None,
) -> CcpControlProtocol:
    """CCP running ``config``'s methods; silent when it asks for none (pppd ``ccp_open``)."""
    negotiator = CcpNegotiator(method_policies(config, logger), logger=logger)
    fsm = fsm or FsmConfig()
    if not negotiator.wants_compression:
        fsm = replace(fsm, silent=True)
    return CcpControlProtocol(negotiator, fsm, report=report, logger=logger)
