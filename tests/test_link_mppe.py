"""MPPE on a link (pppd's ccp.c rules): two stacks back to back on a simulated clock."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pytest

from pyppp import hdlc
from pyppp.ccp.mppe import MppeConfig
from pyppp.ccp.negotiator import CcpConfig
from pyppp.ccp.protocol import RESET_REQ
from pyppp.datapath import DataPath
from pyppp.errors import ConfigError
from pyppp.events import IpReceived, LinkTerminated, NetworkUp
from pyppp.hdlc import Frame
from pyppp.lcp.options import ChapAlgorithm
from pyppp.link import Link
from pyppp.linkconfig import LinkStats
from pyppp.packet import Code, ControlPacket, PPPProtocol
from pyppp.simple import simple_config
from pyppp.util import seeded_rng
from tests.linkpair import Impairment, LinkPair, Wire
from tests.pppdconfig import link_config_from_words
from tests.tcpip import ACK, PSH, Segment

V1, V2, MD5 = ChapAlgorithm.MS, ChapAlgorithm.MS_V2, ChapAlgorithm.MD5
MPPE_ONLY = CcpConfig(deflate=None, mppe=MppeConfig())


def ip_packet(n: int, size: int = 60) -> bytes:
    body = n.to_bytes(4, "big") * (size // 4)
    return bytes([0x45]) + bytes(19) + body[: size - 20]


def pair(
    *,
    server_ccp: CcpConfig | None = MPPE_ONLY,
    client_ccp: CcpConfig | None = MPPE_ONLY,
    algorithms: tuple[int, ...] = (V2,),
    pap: bool = False,
    impair: Impairment | None = None,
    vj: bool = False,
    adaptive_mtu: bool = False,
) -> LinkPair:
    server_config = simple_config(
        local="10.99.7.1",
        remote="10.99.7.2",
        require_pap={"zaphod": "gargleBlaster"} if pap else None,
        require_chap=None if pap else {"zaphod": "gargleBlaster"},
        chap_algorithms=algorithms,
        rng=seeded_rng(11),
    )
    client_config = simple_config(
        user="zaphod", password="gargleBlaster", chap_algorithms=algorithms, rng=seeded_rng(13)
    )
    if vj:
        assert server_config.ipcp is not None
        assert client_config.ipcp is not None
        server_config = replace(server_config, ipcp=replace(server_config.ipcp, vj=True))
        client_config = replace(client_config, ipcp=replace(client_config.ipcp, vj=True))
    server_config = replace(server_config, adaptive_mtu=adaptive_mtu)
    client_config = replace(client_config, adaptive_mtu=adaptive_mtu)
    server = Link(
        replace(server_config, ccp=server_ccp),
        rng=seeded_rng(12),
        logger=logging.getLogger("pyppp.test.server"),
    )
    client = Link(
        replace(client_config, ccp=client_ccp),
        rng=seeded_rng(14),
        logger=logging.getLogger("pyppp.test.client"),
    )
    linked = LinkPair(server, client, a_to_b=Wire(impair=impair) if impair else None)
    server.open(0.0)
    client.open(0.0)
    return linked


def both_up(p: LinkPair) -> bool:
    return bool(p.of_type("a", NetworkUp) and p.of_type("b", NetworkUp))


def frames(wire: Wire) -> list[Frame]:
    return [frame for _, frame in wire.frames()]


def messages(caplog: pytest.LogCaptureFixture, name: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == name]


def test_ms_chap_v2_and_mppe_128_carry_ip_encrypted_both_ways(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    linked = pair()
    linked.run(20, stop=both_up)
    assert both_up(linked)
    server, client = linked.a, linked.b
    assert isinstance(server, Link)
    assert isinstance(client, Link)
    for side in ("pyppp.test.server", "pyppp.test.client"):
        assert "MPPE 128-bit stateless compression enabled" in messages(caplog, side)
    # pppd lowers the MTU by MPPE's 4 octets.
    assert linked.of_type("a", NetworkUp)[0].mtu == linked.of_type("b", NetworkUp)[0].mtu == 1496
    sent = [ip_packet(n, 40 + n * 7) for n in range(50)]
    for packet in sent:
        server.send_ip(packet, linked.now)
        client.send_ip(packet, linked.now)
    linked.run(linked.now + 5)
    assert [e.packet for e in linked.of_type("b", IpReceived)] == sent
    assert [e.packet for e in linked.of_type("a", IpReceived)] == sent
    for wire in (linked.a_to_b, linked.b_to_a):
        protocols = [frame.protocol for frame in frames(wire)]
        assert PPPProtocol.IP not in protocols  # no IP datagram ever left in clear
        assert protocols.count(PPPProtocol.COMP) == 50
        # IPCP waited for CCP (pppd start_networks): no IPCP before CCP's Configure-Ack.
        first_ipcp = protocols.index(PPPProtocol.IPCP)
        assert PPPProtocol.CCP in protocols[:first_ipcp]
    trace = messages(caplog, "pyppp.trace")
    assert any("[CCP ConfReq" in line and "<mppe +H -M +S +L -D -C>" in line for line in trace)
    assert any("[CCP ConfAck" in line and "<mppe +H -M +S -L -D -C>" in line for line in trace)
    status = server.compression_stats
    assert status is not None
    assert status.transmit == status.receive == "MPPE 128-bit stateless"


def test_require_mppe_40_only() -> None:
    config = CcpConfig(deflate=None, mppe=MppeConfig(bits_128=False))
    linked = pair(server_ccp=config, client_ccp=config)
    linked.run(20, stop=both_up)
    server = linked.a
    assert isinstance(server, Link)
    assert server.compression_stats is not None
    assert server.compression_stats.transmit == "MPPE 40-bit stateless"


def test_ms_chap_v1_drops_40_bit(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    linked = pair(algorithms=(V1,))
    linked.run(20, stop=both_up)
    assert both_up(linked)
    assert "Disabling 40-bit MPPE; MS-CHAP LM not supported" in messages(
        caplog, "pyppp.test.server"
    )
    assert "MPPE 128-bit stateless compression enabled" in messages(caplog, "pyppp.test.client")


def test_stateless_mppe_survives_a_lossy_line() -> None:
    linked = pair(impair=Impairment(loss=0.02, seed=5))
    linked.run(60, stop=both_up)
    assert both_up(linked)
    server = linked.a
    assert isinstance(server, Link)
    for n in range(300):
        server.send_ip(ip_packet(n, 200), linked.now)
        linked.run(linked.now + 0.05)
    received = [e.packet for e in linked.of_type("b", IpReceived)]
    assert 200 < len(received) < 300
    assert set(received) <= {ip_packet(n, 200) for n in range(300)}  # never a garbled one


@pytest.mark.parametrize(
    ("server_ccp", "pap", "line"),
    [
        (MPPE_ONLY, True, "MPPE required, but MS-CHAP[v2] auth not performed."),
        (None, False, "MPPE required but peer negotiation failed"),  # the peer rejects CCP
        (CcpConfig(), False, "MPPE required but peer refused"),  # Deflate only: it rejects 18
    ],
)
def test_without_mppe_the_link_closes_and_no_ip_flows(
    server_ccp: CcpConfig | None, pap: bool, line: str, caplog: pytest.LogCaptureFixture
) -> None:
    linked = pair(server_ccp=server_ccp if not pap else MPPE_ONLY, pap=pap)
    linked.run(60, stop=lambda p: bool(p.of_type("b", LinkTerminated)))
    assert linked.of_type("b", LinkTerminated)
    assert not linked.of_type("b", NetworkUp)
    assert line in messages(caplog, "pyppp.test.client")
    assert PPPProtocol.IPCP not in [f.protocol for f in frames(linked.b_to_a)]


def test_ccp_terminated_after_up_closes_the_link(caplog: pytest.LogCaptureFixture) -> None:
    linked = pair()
    linked.run(20, stop=both_up)
    server, client = linked.a, linked.b
    assert isinstance(server, Link)
    assert isinstance(client, Link)
    # The peer's CCP says Terminate-Request: pppd's ccp_input and ccp_down close the link.
    terminate = ControlPacket(Code.TERM_REQ, 0x77, b"Compression off").encode()
    client.receive_data(hdlc.encode_frame(PPPProtocol.CCP, terminate), linked.now)
    assert "MPPE disabled" in messages(caplog, "pyppp.test.client")
    # From that moment the client sends no IP, let alone in clear.
    assert not client.send_ip(ip_packet(1), linked.now)
    linked.run(linked.now + 30, stop=lambda p: bool(p.of_type("b", LinkTerminated)))
    assert linked.of_type("b", LinkTerminated)
    assert PPPProtocol.IP not in [f.protocol for f in frames(linked.b_to_a)]


def test_clear_ip_from_the_peer_is_dropped() -> None:
    linked = pair()
    linked.run(20, stop=both_up)
    client = linked.b
    assert isinstance(client, Link)
    forged = hdlc.encode_frame(PPPProtocol.IP, ip_packet(9))
    client.receive_data(forged, linked.now)
    assert not linked.of_type("b", IpReceived)
    while client.next_event() is not None:
        pass
    assert client.ccp is not None
    assert client.ccp.discarded >= 1


def test_a_reset_request_rekeys_the_peer() -> None:
    linked = pair()
    linked.run(20, stop=both_up)
    server, client = linked.a, linked.b
    assert isinstance(server, Link)
    assert isinstance(client, Link)
    assert client.ccp is not None
    # A Reset-Request from the client: the server answers Reset-Ack and flushes.
    client.ccp.send(ControlPacket(RESET_REQ, 0x42))
    client._process(linked.now)
    linked.run(linked.now + 1)
    assert server.ccp is not None
    assert server.ccp.resets_received == 1
    server.send_ip(ip_packet(3), linked.now)
    linked.run(linked.now + 1)
    assert [e.packet for e in linked.of_type("b", IpReceived)] == [ip_packet(3)]
    acks = [f for f in frames(linked.a_to_b) if f.protocol == PPPProtocol.CCP]
    assert any(f.information[0] == Code.CONF_ACK for f in acks)
    assert any(f.information[:2] == bytes([15, 0x42]) for f in acks)


# --- pppd's words -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ([], None),
        (["require-mppe"], MppeConfig()),
        (["+mppe"], MppeConfig()),
        (["require-mppe-128"], MppeConfig(bits_40=False)),
        (["require-mppe-40"], MppeConfig(bits_128=False)),
        (["require-mppe", "nomppe-40"], MppeConfig(bits_40=False)),
        (["require-mppe", "-mppe-128", "mppe-stateful"], MppeConfig(bits_128=False, stateful=True)),
        (["require-mppe", "nomppe"], None),
        (["nomppe", "require-mppe-128"], MppeConfig(bits_40=False)),
        (["require-mppe", "mppe-stateful", "nomppe-stateful"], MppeConfig()),
        (["nomppe-40", "nomppe-128", "nomppe-stateful"], None),
    ],
)
def test_mppe_words_in_pppds_order(
    words: list[str], expected: MppeConfig | None, tmp_path: Path
) -> None:
    config = link_config_from_words(tmp_path, words)
    if expected is None:
        assert config.ccp is None or config.ccp.mppe is None
    else:
        assert config.ccp == CcpConfig(deflate=None, mppe=expected)


STATEFUL = CcpConfig(deflate=None, mppe=MppeConfig(bits_40=False, stateful=True))
PREFER = CcpConfig(
    deflate=None, mppe=MppeConfig(bits_40=False, stateful=True, prefer_stateful=True)
)


@pytest.mark.parametrize(("server_ccp", "client_ccp"), [(PREFER, PREFER), (STATEFUL, PREFER)])
def test_stateful_mppe_when_asked_for(
    server_ccp: CcpConfig, client_ccp: CcpConfig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    linked = pair(server_ccp=server_ccp, client_ccp=client_ccp)
    linked.run(20, stop=both_up)
    assert both_up(linked)
    assert "MPPE 128-bit stateful compression enabled" in messages(caplog, "pyppp.test.server")
    server, client = linked.a, linked.b
    assert isinstance(server, Link)
    assert isinstance(client, Link)
    sent = [ip_packet(n, 100) for n in range(600)]  # across two flag packets (key changes)
    for packet in sent:
        server.send_ip(packet, linked.now)
        client.send_ip(packet, linked.now)
        linked.run(linked.now + 0.01)
    linked.run(linked.now + 2)
    assert [e.packet for e in linked.of_type("b", IpReceived)] == sent
    assert [e.packet for e in linked.of_type("a", IpReceived)] == sent


def test_stateful_mppe_is_refused_without_mppe_stateful(caplog: pytest.LogCaptureFixture) -> None:
    linked = pair(server_ccp=MPPE_ONLY, client_ccp=PREFER)
    linked.run(60, stop=lambda p: bool(p.of_type("b", LinkTerminated)))
    assert "Refusing MPPE stateful mode offered by peer" in messages(caplog, "pyppp.test.server")
    assert not linked.of_type("b", NetworkUp)


def test_a_tun_burst_is_encrypted_in_order() -> None:
    linked = pair()
    linked.run(20, stop=both_up)
    server = linked.a
    assert isinstance(server, Link)
    burst = [ip_packet(n, 64 + n) for n in range(32)]
    assert server.send_ips(burst, linked.now) == 32
    linked.run(linked.now + 2)
    assert [e.packet for e in linked.of_type("b", IpReceived)] == burst
    assert server.stats.frames_sent >= 32


def test_noccp_with_require_mppe_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="noccp"):
        link_config_from_words(tmp_path, ["require-mppe", "noccp"])


def test_a_run_of_bogus_mppe_packets_closes_the_link(caplog: pytest.LogCaptureFixture) -> None:
    # Linux's SANITY_MAX: 16 packets without the encrypted bit, and pppd gives up on MPPE.
    linked = pair()
    linked.run(20, stop=both_up)
    client = linked.b
    assert isinstance(client, Link)
    bogus = hdlc.encode_frame(PPPProtocol.COMP, b"\x80\x00\x00\x21" + bytes(40))
    # Each one asks for a reset; a Reset-Ack after each lets the next reach the decryptor.
    reset_ack = hdlc.encode_frame(PPPProtocol.CCP, ControlPacket(15, 0).encode())
    for _ in range(20):
        client.receive_data(bogus, linked.now)
        client.receive_data(reset_ack, linked.now)
    linked.run(linked.now + 30, stop=lambda p: bool(p.of_type("b", LinkTerminated)))
    lines = messages(caplog, "pyppp.test.client")
    assert "Lost compression sync: disabling compression" in lines
    assert "Too many MPPE errors, closing LCP" in lines
    assert linked.of_type("b", LinkTerminated)


def test_vj_then_mppe_then_framing() -> None:
    """VJ compresses the TCP headers, MPPE encrypts what VJ made: no 0x002d/0x002f in clear."""
    linked = pair(vj=True)
    linked.run(20, stop=both_up)
    assert both_up(linked)
    server, client = linked.a, linked.b
    assert isinstance(server, Link)
    assert isinstance(client, Link)
    first = Segment(src="10.99.7.1", dst="10.99.7.2", seq=1000, flags=ACK | PSH)
    sent = [bytes(first.but(seq=1000 + 100 * i, ip_id=i, data=bytes([i]) * 100)) for i in range(20)]
    for packet in sent[:10]:
        server.send_ip(packet, linked.now)
    server.send_ips(sent[10:], linked.now)
    linked.run(linked.now + 5)
    assert [e.packet for e in linked.of_type("b", IpReceived)] == sent
    vj = server._path.vj_stats
    assert vj is not None
    assert vj.sent_compressed >= 18  # VJ ran before MPPE, on both send paths
    unvj = client._path.vj_stats
    assert unvj is not None
    assert unvj.received_compressed == vj.sent_compressed
    protocols = [frame.protocol for frame in frames(linked.a_to_b)]
    assert protocols.count(PPPProtocol.COMP) == 20
    for clear in (PPPProtocol.IP, PPPProtocol.VJ_COMP, PPPProtocol.VJ_UNCOMP):
        assert clear not in protocols


def test_the_adaptive_send_size_leaves_room_for_mppe() -> None:
    """With adaptive-mtu the send size starts at MTU - 4 and never grows past it."""
    linked = pair(adaptive_mtu=True)
    linked.run(20, stop=both_up)
    assert both_up(linked)
    for side, link in (("a", linked.a), ("b", linked.b)):
        assert isinstance(link, Link)
        assert link.mtu == link._path.send_mtu == 1496
        assert linked.of_type(side, NetworkUp)[0].mtu == 1496
        assert link._path._sizer.ceiling == 1496


def test_reserve_lowers_the_send_size_only_as_far_as_needed() -> None:
    """A send size a noisy line already lowered stays; one at the ceiling drops by the pad."""
    path = DataPath(LinkStats(), adaptive_mtu=True)
    path.reserve(4)
    assert path.mtu == path.send_mtu == 1496
    path = DataPath(LinkStats(), adaptive_mtu=True)
    path._sizer.current = 576
    path.reserve(4)
    assert (path.mtu, path.send_mtu) == (1496, 576)
    path.configure(None)
    assert path._overhead == 0
