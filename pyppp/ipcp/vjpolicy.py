"""IPCP's IP-Compression-Protocol option for Van Jacobson compression, as pppd negotiates it.

RFC 1332 §3.2 / §4: the option asks the peer to *send* us VJ-compressed TCP/IP; its data is
Max-Slot-Id (one less than the slots our decompressor keeps) and Comp-Slot-Id (whether the
slot id may be omitted). Each direction is separate: what the peer asks for and we Ack is how
we compress towards it; what we ask for and it Acks is what we decompress.

pppd's rules (``ipcp.c``), which this follows:

* our request (``addci``): ``compress VJ 0f 01`` by default; ``vj-max-slots N`` sends N-1;
  ``novjccomp`` sends a Comp-Slot-Id of 0; the pre-RFC 1332 four-octet form only after a
  peer Naks with it (``old_vj``).
* a Nak of ours (``nakci``): a 6-octet 0x002d Nak lowers our Max-Slot-Id to the peer's when
  smaller and turns Comp-Slot-Id off if the peer says 0; a 4-octet 0x002d or 0x0037 switches
  to the old form with that number; any other protocol stops us asking for VJ.
* the peer's request (``reqci``): rejected with ``novj`` or any protocol but 0x002d (and
  0x0037 in the four-octet form); a Max-Slot-Id above ours is Nak'd down to ours, a
  Comp-Slot-Id of 1 with ``novjccomp`` is Nak'd to 0; the four-octet form means 16 slots
  with the slot id compressible.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

from pyppp.ipcp.options import VJ_COMP, VJ_COMP_OLD, IpCompressionProtocol
from pyppp.packet import Code

__all__ = ["DEFAULT_MAX_SLOT_ID", "VjParameters", "VjRequest", "judge_vj", "valid_vj_nak"]

DEFAULT_MAX_SLOT_ID: Final = 15
"""pppd's default: 16 slots (``MAX_STATES - 1``)."""


@dataclass(frozen=True, slots=True)
class VjParameters:
    """What one direction of VJ compression was agreed to use.

    Attributes:
        max_slot_id: the highest slot id the compressor may use (slots 0..max_slot_id).
        compress_slot_id: whether the compressor may omit the slot id (RFC 1144 §3.2.3).
    """

    max_slot_id: int = DEFAULT_MAX_SLOT_ID
    compress_slot_id: bool = True

    def trace(self) -> str:
        """Render as pppd's option trace does (``compress VJ 0f 01``)."""
        return f"compress VJ {self.max_slot_id:02x} {int(self.compress_slot_id):02x}"


@dataclass(frozen=True, slots=True)
class VjRequest:
    """Our VJ request as it stands (pppd's ``gotoptions`` neg_vj/vj_protocol/old_vj/...).

    Attributes:
        max_slot_id: the Max-Slot-Id we send.
        compress_slot_id: the Comp-Slot-Id we send.
        old: send the four-octet form (a peer Nak'd with it).
        protocol: the protocol number of the four-octet form (0x002d or 0x0037).
    """

    max_slot_id: int = DEFAULT_MAX_SLOT_ID
    compress_slot_id: bool = True
    old: bool = False
    protocol: int = VJ_COMP

    def option(self) -> IpCompressionProtocol:
        """The option to put in our Configure-Request."""
        if self.old:
            return IpCompressionProtocol(self.protocol)
        return IpCompressionProtocol.vj(self.max_slot_id, int(self.compress_slot_id))

    @property
    def parameters(self) -> VjParameters:
        """What our decompressor must accept once the peer Acks this request."""
        if self.old:
            return VjParameters(DEFAULT_MAX_SLOT_ID, True)
        return VjParameters(self.max_slot_id, self.compress_slot_id)

    def after_nak(self, nak: IpCompressionProtocol) -> VjRequest | None:
        """Take a Configure-Nak of this request (pppd ``NAKCIVJ``).

        Returns:
            The next request, or ``None`` to stop asking for VJ.
        """
        if len(nak.data) == 2:
            if nak.protocol != VJ_COMP:
                return None
            return replace(
                self,
                old=False,
                max_slot_id=min(self.max_slot_id, nak.data[0]),
                compress_slot_id=self.compress_slot_id and bool(nak.data[1]),
            )
        if nak.protocol in (VJ_COMP, VJ_COMP_OLD):
            return replace(self, old=True, protocol=nak.protocol)
        return None


def valid_vj_nak(nak: IpCompressionProtocol) -> bool:
    """Whether a Nak's IP-Compression-Protocol has a length pppd takes (4 or 6 octets)."""
    return len(nak.data) in (0, 2)


def judge_vj(
    option: IpCompressionProtocol, allow: VjParameters | None
) -> tuple[Code, IpCompressionProtocol, VjParameters | None]:
    """Judge the peer's IP-Compression-Protocol (pppd ``reqci``, ``CI_COMPRESSTYPE``).

    Args:
        option: the peer's option.
        allow: our limits (``vj-max-slots``, ``novjccomp``), or ``None`` with ``novj``.

    Returns:
        The verdict, the option to answer with (our values on a Nak), and what we may use to
        compress towards the peer if this is Acked.
    """
    if allow is None:
        return Code.CONF_REJ, option, None
    if len(option.data) == 0:
        if option.protocol not in (VJ_COMP, VJ_COMP_OLD):
            return Code.CONF_REJ, option, None
        # RFC 1172's form: no slot fields; pppd takes it as 16 slots with slot-id compression.
        return Code.CONF_ACK, option, VjParameters(DEFAULT_MAX_SLOT_ID, True)
    if len(option.data) != 2 or option.protocol != VJ_COMP:
        return Code.CONF_REJ, option, None
    max_slot_id, comp_slot_id = option.data
    verdict = Code.CONF_ACK
    if max_slot_id > allow.max_slot_id:
        verdict, max_slot_id = Code.CONF_NAK, allow.max_slot_id
    if comp_slot_id and not allow.compress_slot_id:
        verdict, comp_slot_id = Code.CONF_NAK, 0
    if verdict is Code.CONF_NAK:
        return verdict, IpCompressionProtocol.vj(max_slot_id, comp_slot_id), None
    return verdict, option, VjParameters(max_slot_id, bool(comp_slot_id))
