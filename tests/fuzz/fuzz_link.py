"""Two Links back to back, one attacked with well-framed hostile packets in every phase.

The input picks the configuration (no authentication, PAP or CHAP with either side as the
authenticator, IPv6CP on or off, the adaptive send size on or off, Van Jacobson compression
on either side, both or neither, with its Max-Slot-Id and slot-id compression:
:mod:`tests.fuzz.vjattack`; CCP with Deflate, its windows and draft type, or MPPE, 40/128-bit,
stateless or stateful, with MS-CHAP or MS-CHAPv2: :mod:`tests.fuzz.ccpattack`), the victim,
and the phase the attack starts in: LCP negotiation (just opened), Authenticate, Network
before IPCP is up, or the network up. The attack is a sequence the input chooses of: forged
control packets for LCP, PAP, CHAP, IPCP, IPv6CP and CCP (codes, identifiers -- often the
victim's own outstanding one -- and options known and unknown), IPCP packets with
IP-Compression-Protocol variations, CCP packets with every method's options and
Reset-Request/Reset-Ack floods, data-protocol frames (IP, IPv6, VJ, compressed) of garbage,
forged and replayed VJ Compressed- and Uncompressed-TCP frames, forged and replayed
compressed datagrams (garbage behind the expected sequence number or coherency count, fresh
deflate streams, inflate bombs, MPPE headers of every flag), unframed line garbage,
Echo-Request floods the owner does not drain, packets to the other side, and the real peer's
traffic (TCP both ways, which VJ and CCP compress) and timers in between.

Oracles:

* nothing raises out of the Link;
* memory, with their documented bounds: the framer holds at most ``2 x (MRU + 7)`` octets of
  an unfinished frame (:attr:`pyppp.hdlc.Deframer.buffered`); an owner that never drains gets
  at most :data:`pyppp.datapath.CONTROL_QUEUE_LIMIT` octets of control frames, and a flood
  of Reset-Requests adds at most one Reset-Ack to the data queue (:data:`_RESET_ACK_FRAME`,
  though the Acks queue behind the data, outside that bound); one hostile
  packet raises at most :data:`_MAX_EVENTS` events; the VJ slot tables never grow
  (:func:`tests.fuzz.vjattack.check_vj_memory`); no datagram delivered is larger than the
  receive limit (framer or CCP MRU) plus a VJ header (:func:`_check_sizes`);
* a side that requires MPPE never sends an IP datagram in clear (:func:`_check_encrypted`);
* liveness: after the attack stops, within :data:`_SETTLE` simulated seconds, the link
  carries IP both ways again, exactly (IPv4, or IPv6 alone when the attack finished IPCP and
  IPv6CP runs on, as pppd does; see :func:`_carries_ip` for the retries a Reset-Request or
  MPPE's coherency count needs), or one side ends with an exit status (``LinkTerminated``)
  -- it never stalls with no timer armed. The one exception is documented, and narrow:
  after a forged compressed datagram under stateful MPPE only the victim's own direction
  must carry IP (RFC 3078 cannot tell a forged flushed packet);
* with IPv4 up, TCP crosses both ways too, exactly: a segment of a connection the attack
  may have poisoned (a forged Uncompressed-TCP frame loaded its slot, a forged
  Compressed-TCP frame set TOSS) arrives intact at the latest when TCP sends it again
  (:data:`_TCP_TRIES` sends in all): RFC 1144 §4 recovers by retransmission, which the
  compressor never compresses.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import deque
from collections.abc import Callable
from ipaddress import IPv4Address

from pyppp import hdlc
from pyppp.datapath import CONTROL_QUEUE_LIMIT
from pyppp.events import IpReceived, LinkTerminated
from pyppp.link import Link
from pyppp.linkconfig import LinkConfig
from pyppp.mppe import COHERENCY_SPACE
from pyppp.packet import ControlPacket, PPPProtocol
from pyppp.simple import simple_config
from pyppp.util import seeded_rng
from tests.fuzz.ccpattack import CcpChoice, ccp_choice, ccp_configs, hostile_ccp, hostile_comp
from tests.fuzz.harness import FuzzTarget, Input
from tests.fuzz.vjattack import (
    MAX_VJ_HEADER,
    TcpTraffic,
    check_vj_memory,
    hostile_vj,
    hostile_vj_ipcp,
    vj_configs,
)
from tests.linkpair import LinkPair, Wire

_LOG = logging.getLogger("pyppp.fuzz.link")
_LOG.addHandler(logging.NullHandler())
_LOG.propagate = False

_SETTLE = 400.0
"""Simulated seconds the pair gets after the attack (LCP gives up after 10 x 3 s)."""
_MAX_EVENTS = 64
_MAX_OPS = 48
_MAX_STEPS = 20000
_TCP_TRIES = 2
"""A segment and one retransmission: the retransmission goes as Uncompressed-TCP."""
_IP_TRIES = 3
"""Probe datagrams each way before the IP oracle fails (a Reset-Request is answered at once)."""
_RESETS = 64
"""The most Reset-Requests (or Acks) in one flood."""
_RESET_ACK_FRAME = max(
    len(hdlc.FrameEncoder(accm=0xFFFFFFFF).encode(PPPProtocol.CCP, bytes((15, n, 0, 4))))
    for n in range(256)
)
"""The longest a Reset-Ack is on the line: all a Reset-Request flood may add to the data queue."""
_REPLAY = 8
"""How many of the peer's last VJ frames the attacker keeps to replay."""
_CONTROL = [
    PPPProtocol.LCP,
    PPPProtocol.LCP,
    PPPProtocol.LCP,
    PPPProtocol.PAP,
    PPPProtocol.CHAP,
    PPPProtocol.IPCP,
    PPPProtocol.IPCP,
    PPPProtocol.IPV6CP,
    PPPProtocol.CCP,
    0x8023,  # OSINLCP: an NCP nobody runs (Protocol-Reject)
]
_DATA = [
    PPPProtocol.IP,
    PPPProtocol.IPV6,
    PPPProtocol.VJ_COMP,
    PPPProtocol.VJ_UNCOMP,
    PPPProtocol.COMP,
    0x0023,
]
_CODES = [1, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0, 0xFF]
_OPTIONS = [
    bytes.fromhex("010405dc"),  # MRU 1500 / IPCP: IP-Addresses
    bytes.fromhex("01040040"),  # MRU 64
    bytes.fromhex("010400ff"),
    bytes.fromhex("020600000000"),  # ACCM 0
    bytes.fromhex("0206ffffffff"),
    bytes.fromhex("0304c023"),  # auth PAP
    bytes.fromhex("0305c22305"),  # auth CHAP-MD5
    bytes.fromhex("0305c22381"),
    bytes.fromhex("050600000000"),  # magic 0
    bytes.fromhex("05065bb51eb9"),
    bytes.fromhex("0702"),
    bytes.fromhex("0802"),
    bytes.fromhex("03060a630002"),  # IPCP: IP-Address
    bytes.fromhex("030600000000"),
    bytes.fromhex("8106 0a630001"),  # IPCP: primary DNS
    bytes.fromhex("0206002d0f01"),  # IPCP: VJ
    bytes.fromhex("010a 0011223344556677"),  # IPv6CP: Interface-Identifier
    bytes.fromhex("1a0400a0"),  # CCP: Deflate
    bytes.fromhex("1206 00000040"),  # CCP: MPPE
]
_A, _B = IPv4Address("10.99.0.1"), IPv4Address("10.99.0.2")
_IP_A_TO_B = bytes.fromhex("4500001c0001000040110000") + _A.packed + _B.packed + bytes(8)
_IP_B_TO_A = bytes.fromhex("4500001c0002000040110000") + _B.packed + _A.packed + bytes(8)
_IP6 = bytes.fromhex("6000000000081140") + bytes(32) + bytes(8)
_PHASES = ("lcp", "authenticate", "network", "up")
_CLEAR = (PPPProtocol.IP, PPPProtocol.IPV6, PPPProtocol.VJ_COMP, PPPProtocol.VJ_UNCOMP)


def _links(source: Input) -> tuple[Link, Link, bool, CcpChoice]:
    flags = source.uint()
    auth = flags % 5  # none; a checks b (PAP, CHAP); b checks a (PAP, CHAP)
    ipv6 = bool(flags & 0x08)
    rng = seeded_rng(source.uint(2))
    vj = source.uint() if flags & 0x40 else None
    ccp = ccp_choice(source.uint()) if flags & 0x80 else CcpChoice(None, None)
    if ccp.mppe and auth in (1, 3):
        auth += 1  # MPPE's keys come from MS-CHAP; without authentication the link must end
    users = {"zaphod": "gargleBlaster"}
    pap = users if auth in (1, 3) else None
    chap = users if auth in (2, 4) else None
    a_checks = auth in (1, 2)
    b_checks = auth in (3, 4)

    def end(
        *, checks: bool, answers: bool, local: str | None = None, remote: str | None = None
    ) -> LinkConfig:
        """One end of the link: it checks the other (with ``pap`` or ``chap``) or answers."""
        return simple_config(
            local=local,
            remote=remote,
            require_pap=pap if checks else None,
            require_chap=chap if checks else None,
            user="zaphod" if answers else None,
            password="gargleBlaster" if answers else None,
            rng=rng,
            ipv6=ipv6,
            chap_algorithms=ccp.algorithms,
        )

    a = end(checks=a_checks, answers=b_checks, local=str(_A), remote=str(_B))
    b = end(checks=b_checks, answers=a_checks)
    victim_is_a = not flags & 0x10
    if flags & 0x20:  # the adaptive send size, with its Echo-Request probes
        a = dataclasses.replace(a, adaptive_mtu=True)
        b = dataclasses.replace(b, adaptive_mtu=True)
    if vj is not None:
        a, b = vj_configs(a, b, vj)
    a, b = ccp_configs(a, b, ccp)
    return (
        Link(a, rng=seeded_rng(source.uint(2)), logger=_LOG),
        Link(b, rng=seeded_rng(source.uint(2) + 1), logger=_LOG),
        victim_is_a,
        ccp,
    )


class _TappedWire(Wire):
    """One direction of the line that remembers, per control protocol, the last identifier
    and Configure-Request options sent, and the last VJ frames (to forge answers, replay)."""

    def __init__(self) -> None:
        super().__init__()
        self.tap = hdlc.Deframer(accm=0, mru=65535)
        self.last_id: dict[int, int] = {}
        self.last_request: dict[int, bytes] = {}
        self.vj: deque[tuple[int, bytes]] = deque(maxlen=_REPLAY)
        self.comp: deque[bytes] = deque(maxlen=_REPLAY)
        self.clear_ip = 0  # IP datagrams sent unencrypted (0x0021, 0x0057, VJ)

    def send(self, data: bytes, now: float) -> None:
        for frame in self.tap.feed(data):
            information = frame.information
            if frame.protocol >= 0x8000 and len(information) >= 2:
                self.last_id[frame.protocol] = information[1]
                if information[0] == 1:
                    self.last_request[frame.protocol] = bytes(information[4:])
            elif frame.protocol == PPPProtocol.COMP:
                self.comp.append(bytes(information))
            if frame.protocol in (PPPProtocol.VJ_COMP, PPPProtocol.VJ_UNCOMP):
                self.vj.append((frame.protocol, bytes(information)))
            if frame.protocol in _CLEAR:
                self.clear_ip += 1
        super().send(data, now)


class _Attack:
    """The victim, the pair around it and what the victim last asked for, per protocol."""

    def __init__(
        self, pair: LinkPair, victim_is_a: bool, traffic: TcpTraffic, choice: CcpChoice
    ) -> None:
        self.pair = pair
        self.victim: Link = pair.a if victim_is_a else pair.b  # type: ignore[assignment]
        self.other: Link = pair.b if victim_is_a else pair.a  # type: ignore[assignment]
        self.victim_side, self.other_side = ("a", "b") if victim_is_a else ("b", "a")
        wire = pair.a_to_b if victim_is_a else pair.b_to_a
        inbound = pair.b_to_a if victim_is_a else pair.a_to_b
        assert isinstance(wire, _TappedWire)
        assert isinstance(inbound, _TappedWire)
        self.wire = wire  # what the victim sends
        self.inbound = inbound  # what the real peer sends the victim
        self.traffic = traffic
        self.choice = choice
        self.mru: dict[int, int] = {}
        """The largest receive limit (framer, CCP) each link had, by ``id``."""
        self.forged_stateful_mppe = False
        """A forged compressed datagram reached the victim while stateful MPPE ran."""

    def check_memory(self, link: Link) -> None:
        deframer = link._path.deframer  # the buffer the oracle bounds
        mru = max(deframer.mru, link.ccp.mru if link.ccp is not None else 0)
        self.mru[id(link)] = max(self.mru.get(id(link), 0), mru)
        bound = 2 * (deframer.mru + 7)
        assert deframer.buffered <= bound, f"the framer holds {deframer.buffered} > {bound}"
        rest = link.awaiting()  # what a slow line's reader asks after each read
        assert rest is None or 0 < rest <= bound + 1, f"awaiting {rest} octets"
        check_vj_memory(link)

    def inject(self, data: bytes, *, to_other: bool = False) -> None:
        target = self.other if to_other else self.victim
        if not to_other and _stateful_mppe(target) and b"\xfd" in data:
            # 0x00FD in a frame (or in line garbage that happens to frame): conservatively
            # a forged MPPE packet
            self.forged_stateful_mppe = True
        target.receive_data(data, self.pair.now)
        self.check_memory(target)
        self.drain()

    def drain(self) -> None:
        pair = self.pair
        for link, wire in ((pair.a, pair.a_to_b), (pair.b, pair.b_to_a)):
            wire.send(link.data_to_send(), pair.now)
        events = 0
        for name, link in (("a", pair.a), ("b", pair.b)):
            while (event := link.next_event()) is not None:
                pair.events[name].append(event)
                events += 1
        assert events <= _MAX_EVENTS, f"{events} events from one input"

    def control(self, source: Input) -> bytes:
        protocol = source.pick(_CONTROL)
        assert isinstance(protocol, int)
        code = source.pick(_CODES)
        assert isinstance(code, int)
        flags = source.uint()
        identifier = self.wire.last_id.get(protocol, 1) if flags & 1 else source.uint()
        if flags & 2:
            data = source.chunk(24)
        else:
            data = b"".join(
                source.pick(_OPTIONS)  # type: ignore[misc]
                for _ in range(source.below(4))
            )
        packet = ControlPacket(code, identifier, data).encode()
        if flags & 4:
            packet = packet[: source.below(len(packet) + 1)]  # truncated
        elif flags & 8:
            packet += source.chunk(8)  # padded
        return hdlc.encode_frame(protocol, packet)

    def tcp(self, source: Input) -> None:
        """The real TCP traffic: the victim, its peer or both send a segment."""
        who = source.uint() % 3  # the victim, its peer, both
        if who != 1:
            segment = self.traffic.from_input(self.victim_side, source)
            self.victim.send_ip(segment, self.pair.now)
        if who != 0:
            segment = self.traffic.from_input(self.other_side, source)
            self.other.send_ip(segment, self.pair.now)
        self.drain()

    def vj(self, source: Input) -> None:
        """A forged or replayed VJ frame for the victim."""
        protocol, information = hostile_vj(source, list(self.inbound.vj), self.traffic)
        self.inject(hdlc.encode_frame(protocol, information))

    def vj_ipcp(self, source: Input) -> None:
        """A forged IPCP packet playing with IP-Compression-Protocol."""
        self._forge(PPPProtocol.IPCP, hostile_vj_ipcp, source)

    def ccp(self, source: Input) -> None:
        """A forged CCP packet."""
        self._forge(PPPProtocol.CCP, hostile_ccp, source)

    def _forge(
        self,
        protocol: PPPProtocol,
        forge: Callable[[Input, int | None, bytes | None], bytes],
        source: Input,
    ) -> None:
        """Inject ``forge``'s packet, answering the victim's last ``protocol`` packet."""
        packet = forge(
            source, self.wire.last_id.get(protocol), self.wire.last_request.get(protocol)
        )
        self.inject(hdlc.encode_frame(protocol, packet))

    def comp(self, source: Input) -> None:
        """A forged or replayed compressed (or MPPE) datagram."""
        ccp = self.victim.ccp
        # Deflate's next sequence number, read from the victim: an attacker on the line
        # learns it from the datagrams it sees, up to a reset.
        expected = getattr(ccp.decompressor if ccp is not None else None, "sequence", None)
        information = hostile_comp(source, self.inbound.comp, self.choice.mppe, expected)
        self.inject(hdlc.encode_frame(PPPProtocol.COMP, information))

    def reset_flood(self, source: Input) -> None:
        """Reset-Requests (each one answered, the compressor reset) or Reset-Acks, undrained."""
        victim = self.victim
        how = source.uint()
        codes = ((14,), (15,), (14, 15))[how % 3]
        frames = b"".join(
            hdlc.encode_frame(PPPProtocol.CCP, ControlPacket(code, n & 0xFF).encode())
            for n in range(1 + source.below(_RESETS))
            for code in codes
        )
        before = victim.pending_bytes
        victim.receive_data(frames, self.pair.now)  # one read
        # The Reset-Acks queue behind the data, outside the control bound: one at most.
        grown = victim.pending_bytes - before
        assert grown <= _RESET_ACK_FRAME, f"the data queue grew by {grown} octets"
        out = victim.data_to_send()
        limit = CONTROL_QUEUE_LIMIT + before + _RESET_ACK_FRAME
        assert len(out) <= limit, f"{len(out)} octets queued"
        self.wire.send(out, self.pair.now)
        self.drain()

    def flood(self, source: Input) -> None:
        # Echo-Requests the owner does not drain: the control queue must stay bounded.
        victim = self.victim
        size = 4 + source.below(1400)
        request = ControlPacket(9, 0, bytes(4) + bytes(size)).encode()
        frame = hdlc.encode_frame(PPPProtocol.LCP, request)
        before = victim.pending_bytes
        for _ in range(20 + source.below(200)):
            victim.receive_data(frame, self.pair.now)
        assert victim.pending_bytes <= before, "Echo-Replies queued behind the data"
        out = victim.data_to_send()
        assert len(out) <= CONTROL_QUEUE_LIMIT + before, f"{len(out)} octets queued"
        self.wire.send(out, self.pair.now)
        self.drain()


def _run(pair: LinkPair, until: float, stop: Callable[[LinkPair], bool] | None = None) -> None:
    """``pair.run`` with a step budget: a timer that fires without moving on is a failure."""
    for _ in range(_MAX_STEPS):
        if pair.now > until or (stop is not None and stop(pair)) or not pair.step():
            return
    raise AssertionError(f"{_MAX_STEPS} steps before {until} s (now {pair.now}): a busy timer")


def _reach(pair: LinkPair, attack: _Attack, phase: str) -> None:
    victim = attack.victim
    if phase == "lcp":
        return
    if phase == "up":
        _run(pair, 60.0, stop=lambda p: victim.network_up and attack.other.network_up)
        return
    wanted = "Authentication" if phase == "authenticate" else "Network-Layer Protocol"
    _run(pair, 60.0, stop=lambda p: victim.phase.value == wanted or victim.network_up)


def _up(pair: LinkPair) -> tuple[bool, bool]:
    """Whether IPv4, and IPv6, are up on both sides."""
    a, b = pair.a, pair.b
    assert isinstance(a, Link)
    assert isinstance(b, Link)
    return a.network_up and b.network_up, a.ipv6_up and b.ipv6_up


def _datagram(side: str, ipv4: bool, n: int) -> bytes:
    """The ``n``-th probe datagram from ``side`` (its IP ID, or IPv6 flow label, is ``n``)."""
    packet = bytearray((_IP_A_TO_B if side == "a" else _IP_B_TO_A) if ipv4 else _IP6)
    packet[4 if ipv4 else 2 : 6 if ipv4 else 4] = (n & 0xFFFF).to_bytes(2, "big")
    return bytes(packet)


def _delivered(pair: LinkPair, side: str, packet: bytes, seen: int) -> bool:
    return any(isinstance(e, IpReceived) and e.packet == packet for e in pair.events[side][seen:])


def _carries_ip(pair: LinkPair, choice: CcpChoice) -> list[str]:
    """An IP datagram crosses both ways intact (IPv4 if it is up, else IPv6: IPCP may have
    finished while IPv6CP runs on, as in pppd, where only the last network protocol closes
    the link), within :data:`_IP_TRIES` datagrams 5 s apart: a decompressor the attack put
    out of step drops what arrives until the Reset-Ack (RFC 1962 §5) or a retransmission.
    Stateless MPPE, which a forged coherency count ahead of the real one leaves dropping
    every real packet as late (RFC 3078 §8.1: no reset), needs half the count space first.

    Returns:
        The sides whose datagrams did not get through.
    """
    ipv4, _ = _up(pair)
    failed = []
    for side, peer in (("a", "b"), ("b", "a")):
        link = pair.a if side == "a" else pair.b
        assert isinstance(link, Link)

        def crosses(first: int, side: str = side, peer: str = peer, link: Link = link) -> bool:
            for n in range(first, first + _IP_TRIES):
                packet = _datagram(side, ipv4, n)
                seen = len(pair.events[peer])
                link.send_ip(packet, pair.now)
                _run(pair, pair.now + 5.0)
                if _delivered(pair, peer, packet, seen):
                    return True
            return False

        if crosses(0):
            continue
        if choice.mppe:
            burst = [_datagram(side, ipv4, 100 + k) for k in range(COHERENCY_SPACE // 2)]
            link.send_ips(burst, pair.now)
            _run(pair, pair.now + 5.0)
            if crosses(10):
                continue
        failed.append(side)
    return failed


def _check_sizes(pair: LinkPair, attack: _Attack) -> None:
    """No datagram delivered is larger than the receive limit allows, plus what a VJ header
    adds: a compressed datagram that inflates past the MRU never comes out (RFC 1979 §2.1)."""
    for name, link in (("a", pair.a), ("b", pair.b)):
        assert isinstance(link, Link)
        attack.check_memory(link)
        bound = attack.mru[id(link)] + MAX_VJ_HEADER
        for event in pair.events[name]:
            if isinstance(event, IpReceived):
                assert len(event.packet) <= bound, f"{len(event.packet)}-octet datagram"


def _stateful_mppe(link: Link) -> bool:
    """Whether ``link`` decrypts stateful MPPE now."""
    ccp = link.ccp
    decompressor = ccp.decompressor if ccp is not None else None
    decryptor = getattr(decompressor, "decryptor", None)
    return decryptor is not None and bool(decryptor._direction.mode.stateful)


def _check_encrypted(pair: LinkPair, choice: CcpChoice) -> None:
    """A side that requires MPPE never sends an IP datagram in clear (RFC 3078 §1: pppd's
    ``require-mppe`` and Linux's SC_MUST_COMP), whatever the attack did to CCP."""
    for config, wire in ((choice.a, pair.a_to_b), (choice.b, pair.b_to_a)):
        assert isinstance(wire, _TappedWire)
        if config is not None and config.mppe is not None:
            assert not wire.clear_ip, f"{wire.clear_ip} IP datagrams left in clear"


def _carries_tcp(pair: LinkPair, traffic: TcpTraffic) -> bool:
    """A TCP segment crosses each way intact, if need be when TCP sends it again."""
    for side, link, peer in (("a", pair.a, "b"), ("b", pair.b, "a")):
        assert isinstance(link, Link)
        packet = traffic.next(side, 0, b"oracle")
        if len(packet) > link.mtu:
            continue  # a hostile MRU left no room for it
        for _ in range(_TCP_TRIES):
            if not _up(pair)[0]:
                return True  # IPCP went down (a renegotiation pending): carrying IP was checked
            seen = len(pair.events[peer])
            link.send_ip(packet, pair.now)
            _run(pair, pair.now + 5.0)
            arrived = pair.events[peer][seen:]
            if any(isinstance(e, IpReceived) and e.packet == packet for e in arrived):
                break
            packet = traffic.retransmit(side, 0)
        else:
            return False
    return True


def run(data: bytes) -> None:
    source = Input(data)
    a, b, victim_is_a, choice = _links(source)
    phase = _PHASES[source.below(len(_PHASES))]
    pair = LinkPair(a, b, a_to_b=_TappedWire(), b_to_a=_TappedWire())
    a.open(0.0)
    b.open(0.0)
    traffic = TcpTraffic(_A, _B)
    attack = _Attack(pair, victim_is_a, traffic, choice)
    _reach(pair, attack, phase)
    for _ in range(_MAX_OPS):
        if not source.remaining:
            break
        op = source.below(22)
        if op <= 7:
            attack.inject(attack.control(source))
        elif op == 8:
            protocol = source.pick(_DATA)
            assert isinstance(protocol, int)
            attack.inject(hdlc.encode_frame(protocol, source.chunk(64)))
        elif op == 9:
            attack.inject(source.chunk(48))  # raw line garbage, flags and escapes included
        elif op in (10, 11):
            for _ in range(1 + source.below(8)):
                pair.step()
            attack.drain()
        elif op == 12:
            attack.flood(source)
        elif op == 13:
            attack.inject(attack.control(source), to_other=True)
        elif op == 16:
            attack.tcp(source)
        elif op == 17:
            attack.vj(source)
        elif op == 18:
            attack.vj_ipcp(source)
        elif op == 19:
            attack.ccp(source)
        elif op == 20:
            attack.reset_flood(source)
        elif op == 21:
            attack.comp(source)
        else:
            pair.step()
            attack.drain()
        attack.check_memory(a)
        attack.check_memory(b)
    # The attack is over: the link must recover or end, never hang.
    _check_encrypted(pair, choice)
    settle = pair.now + _SETTLE

    def settled(p: LinkPair) -> bool:
        return bool(p.of_type("a", LinkTerminated) or p.of_type("b", LinkTerminated)) or any(_up(p))

    _run(pair, settle, stop=settled)
    _check_encrypted(pair, choice)
    _check_sizes(pair, attack)
    if pair.of_type("a", LinkTerminated) or pair.of_type("b", LinkTerminated):
        return
    stalled = (
        f"stalled after the attack: a {a.phase.name} timer {a.get_timer()}, "
        f"b {b.phase.name} timer {b.get_timer()}, now {pair.now}"
    )
    assert any(_up(pair)), stalled
    failed = _carries_ip(pair, choice)
    if failed:
        # Carrying IP may itself end the link (a renegotiation the attack left pending).
        # Stateful MPPE has no defence against one forged packet (RFC 3078 has no integrity
        # check: a forged flushed packet costs the receiver a key change the sender never
        # made, and it stays a key ahead): the peer's direction may stay garbled, but the
        # victim's own must work.
        garbled = attack.forged_stateful_mppe and failed == [attack.other_side]
        assert garbled or pair.of_type("a", LinkTerminated) or pair.of_type("b", LinkTerminated), (
            f"IPCP or IPv6CP is up on both sides but no datagram gets through from {failed}"
        )
        return
    if _up(pair)[0] and not _carries_tcp(pair, traffic):
        assert pair.of_type("a", LinkTerminated) or pair.of_type("b", LinkTerminated), (
            f"IPCP is up on both sides but TCP does not get through in {_TCP_TRIES} sends"
        )


def _seed(*parts: str) -> bytes:
    return bytes.fromhex("".join(parts).replace(" ", ""))


TARGETS = [
    FuzzTarget(
        "link.attacked",
        run,
        seeds=[
            # no auth, victim a, phase up: a forged LCP Configure-Request, then time passes
            _seed("00 0001 0002 0003 0003", "0000 0000 0002 00 0001 0000", "000a 0003"),
            # a checks b with PAP, victim b, in Authenticate: a forged PAP Auth-Nak with b's id
            _seed("11 0001 0002 0003 0001", "0000 0003 0000 01 ", "000a 0005"),
            # CHAP, b checks a, IPv6: IPCP Protocol-Reject and a Terminate-Request while up
            _seed("0c 0001 0002 0003 0003", "0000 0000 0007 00 0000", "0000 0000 0005 01"),
            # an Echo-Request flood while up, then IPCP Configure-Request with garbage
            _seed("00 0001 0002 0003 0003", "000c 0100", "0000 0005 0000 02 0008 0102030405060708"),
            # VJ both ways (16 slots, slot-id compression), victim a, up: TCP both ways twice,
            # a replayed Compressed-TCP frame with a bit flipped, more TCP, an IPCP
            # Configure-Request with two VJ options
            _seed(
                "40 0001 03 0002 0003 0003",
                "0010 02 00 0000 0005 68656c6c6f 00 0000 0003 616263",
                "000a 0003",
                "0010 00 00 0000 0080" + "68" * 128,  # a segment of 168 octets
                "000a 0003",
                "0010 02 00 0000 0004 6d6f7265 01 0000 0002 6f6b",
                "000a 0003",
                "0011 0000 0000 01 0003 0002",
                "0010 01 00 0000 0003 787878",
                "0012 0000 00 05 0001 0004 0006",
            ),
            # VJ both ways, b with one slot and no slot-id compression, victim b, up: TCP from a,
            # a forged Uncompressed-TCP frame for slot 0, a pure ack from a
            _seed(
                "50 0001 93 0002 0003 0003",
                "0010 01 00 0000 0008 3031323334353637",
                "000a 0003",
                "0011 0002 00 01 00 0000 0000 0000 0004 41424344",
                "0010 01 01 0002",
            ),
            # Deflate 15 both ways, victim a, up: TCP both ways, a datagram that inflates to
            # 67 kB, TCP, a replayed compressed datagram with a bit flipped, a Reset flood, a
            # forged Reset-Request with the victim's identifier, garbage with the expected
            # sequence number, TCP again
            _seed(
                "80 0001 02 0002 0003 0003",
                "000a 0005",
                "0010 02 00 0000 0010 61626364616263646162636461626364",
                "00 0000 0010 31323334313233343132333431323334",
                "000a 0003",
                "0015 0004 00 0000 4000 0006",
                "0010 02 00 0000 0002 6f6b 00 0000 0002 6f6b",
                "000a 0005",
                "0015 0000 0000 01 0003 0002",
                "000a 0003",
                "0014 02 0010",
                "0013 000a 01",
                "0015 0002 00 0010 00112233445566778899aabbccddeeff",
                "0010 01 00 0000 0005 68656c6c6f",
            ),
            # MPPE 128/40 stateless both ways, a checks b with MS-CHAPv2, victim a, up: TCP
            # both ways, a genuine MPPE packet with its count rewritten, garbage half the
            # count space ahead (every real packet is then late), TCP again
            _seed(
                "84 0001 22 0002 0003 0003",
                "000a 0005",
                "0010 02 00 0000 0008 6d7070652d6f6b21 00 0000 0004 70696e67",
                "000a 0003",
                "0015 0000 0000 04 9abc",
                "0015 0002 05 0010 00112233445566778899aabbccddeeff",
                "0010 01 00 0000 0005 68656c6c6f",
            ),
            # MPPE stateful, b checks a with MS-CHAPv2, victim b, up: TCP, a replayed packet
            # with its flushed bit set, a Reset-Ack flood, TCP
            _seed(
                "94 0001 32 0002 0003 0003",
                "000a 0005",
                "0010 02 00 0000 0008 73746174656675 6c 00 0000 0002 6f6b",
                "000a 0003",
                "0015 0001 0000 04 8001",
                "0014 01 0008",
                "0010 01 00 0000 0004 6d6f7265",
            ),
        ],
        max_len=600,
    )
]
