"""IPCP's IP-Compression-Protocol for VJ (RFC 1332 §3.2) negotiated as pppd's ipcp.c does it."""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path

import pytest

from pyppp.ipcp.negotiator import IpcpResult
from pyppp.ipcp.options import IpAddress, IpCompressionProtocol
from pyppp.ipcp.vjpolicy import VjParameters, VjRequest, judge_vj
from pyppp.options import Review
from pyppp.packet import Code
from tests.talk import ACK, NAK, REJ, Talk
from tests.test_ipcp_negotiator import SERVER, VjPeer, neg
from tests.test_session import make

VJ = IpCompressionProtocol.vj
OLD = IpCompressionProtocol(0x0037)
ALLOW = VjParameters()


@pytest.mark.parametrize(
    ("option", "allow", "verdict"),
    [
        (VJ(15, 1), ALLOW, (ACK, VJ(15, 1), VjParameters(15, True))),
        (VJ(3, 0), ALLOW, (ACK, VJ(3, 0), VjParameters(3, False))),
        # More slots than ours: Nak'd down to ours (vj-max-slots 4 is Max-Slot-Id 3).
        (VJ(15, 1), VjParameters(3, True), (NAK, VJ(3, 1), None)),
        # Slot-id omission with novjccomp: Nak'd to 0.
        (VJ(15, 1), VjParameters(15, False), (NAK, VJ(15, 0), None)),
        (VJ(15, 1), VjParameters(7, False), (NAK, VJ(7, 0), None)),
        # RFC 1172's four-octet form (either number): 16 slots, slot id compressible.
        (IpCompressionProtocol(0x002D), ALLOW, (ACK, IpCompressionProtocol(0x002D), ALLOW)),
        (OLD, ALLOW, (ACK, OLD, ALLOW)),
        # novj, another protocol, the old number in the new form, odd lengths: Rejected.
        (VJ(15, 1), None, (REJ, VJ(15, 1), None)),
        (IpCompressionProtocol(0x0061, b"\x0f\x01"), ALLOW, None),
        (IpCompressionProtocol(0x0037, b"\x0f\x01"), ALLOW, None),
        (IpCompressionProtocol(0x0061), ALLOW, None),
        (IpCompressionProtocol(0x002D, b"\x0f"), ALLOW, None),
        (IpCompressionProtocol(0x002D, b"\x0f\x01\x00"), ALLOW, None),
    ],
)
def test_judge_the_peers_request_as_pppd(
    option: IpCompressionProtocol,
    allow: VjParameters | None,
    verdict: tuple[Code, IpCompressionProtocol, VjParameters | None] | None,
) -> None:
    assert judge_vj(option, allow) == (verdict or (REJ, option, None))


@pytest.mark.parametrize(
    ("nak", "after"),
    [
        (VJ(3, 1), VjRequest(3, True)),
        (VJ(15, 0), VjRequest(15, False)),
        (VJ(255, 1), VjRequest(15, True)),  # a larger Max-Slot-Id is not taken
        (IpCompressionProtocol(0x002D), VjRequest(old=True)),
        (OLD, VjRequest(old=True, protocol=0x0037)),
        (IpCompressionProtocol(0x0061, b"\x0f\x01"), None),
        (IpCompressionProtocol(0x0061), None),
    ],
)
def test_our_request_after_a_nak(nak: IpCompressionProtocol, after: VjRequest | None) -> None:
    assert VjRequest().after_nak(nak) == after


def test_the_old_form_is_sent_as_it_was_nakd() -> None:
    assert VjRequest(old=True, protocol=0x0037).option() == OLD
    assert VjRequest(old=True).parameters == VjParameters(15, True)
    assert VjRequest(3, False).option().encode() == bytes.fromhex("0206002d0300")


def test_the_request_carries_vj_before_the_address_as_pppd() -> None:
    assert neg(vj=True, local=SERVER["local"]).request() == [VJ(15, 1), IpAddress(SERVER["local"])]
    assert neg(vj=True, vj_max_slot_id=3, vj_compress_slot_id=False).request()[0] == VJ(3, 0)
    assert not any(isinstance(o, IpCompressionProtocol) for o in neg().request())


def test_two_pppd_defaults_agree_vj_both_ways() -> None:
    server, client = neg(vj=True, **SERVER), neg(vj=True)
    talk = Talk(client, server)
    assert talk.run(), talk.lines
    assert talk.lines[0] == "a sent [IPCP ConfReq <compress VJ 0f 01> <addr 0.0.0.0>]"
    for side in (server, client):
        result = side.up()
        assert isinstance(result, IpcpResult)
        assert result.vj_send == result.vj_receive == VjParameters(15, True)


def test_vj_max_slots_4_on_one_side_is_what_both_use_towards_it() -> None:
    server = neg(vj=True, vj_max_slot_id=3, **SERVER)
    client = neg(vj=True)
    talk = Talk(client, server)
    assert talk.run(), talk.lines
    # The client asks for 16 slots; the server, allowing 4, Naks it down; the client takes it.
    assert "a rcvd [IPCP ConfNak <compress VJ 03 01> <addr 10.99.0.2>]" in talk.lines
    assert "b sent [IPCP ConfReq <compress VJ 03 01> <addr 10.99.0.1>]" in talk.lines
    assert server.up().vj_receive == VjParameters(3, True)
    assert server.up().vj_send == VjParameters(3, True)
    assert client.up().vj_send == VjParameters(3, True)
    assert client.up().vj_receive == VjParameters(3, True)


def test_novjccomp_on_one_side() -> None:
    server = neg(vj=True, vj_compress_slot_id=False, **SERVER)
    client = neg(vj=True)
    talk = Talk(client, server)
    assert talk.run(), talk.lines
    # The server asks for no slot-id omission, and Naks the client's request down to it.
    assert "a rcvd [IPCP ConfNak <compress VJ 0f 00> <addr 10.99.0.2>]" in talk.lines
    assert client.up().vj_send == VjParameters(15, False)
    assert server.up().vj_receive == VjParameters(15, False)
    assert client.up().vj_receive == VjParameters(15, False)


def test_novj_rejects_the_peers_and_a_reject_stops_ours() -> None:
    pppd = VjPeer(neg(**SERVER))  # asks for VJ; it is rejected by a novj client
    client = neg()
    talk = Talk(pppd, client)
    assert talk.run(), talk.lines
    assert "a rcvd [IPCP ConfRej <compress VJ 0f 01>]" in talk.lines
    assert client.up().vj_send is None
    assert client.up().vj_receive is None
    # Ours rejected: we stop asking and receive no VJ; the peer's request is still granted.
    server, vj_client = neg(**SERVER), neg(vj=True)
    talk = Talk(vj_client, server)
    assert talk.run(), talk.lines
    assert "a rcvd [IPCP ConfRej <compress VJ 0f 01>]" in talk.lines
    assert "a sent [IPCP ConfReq <addr 0.0.0.0>]" in talk.lines
    assert vj_client.up().vj_receive is None


def test_naks_with_bad_lengths_or_unasked_are_bogus() -> None:
    n = neg(vj=True)
    assert not n.on_nak([IpCompressionProtocol(0x002D, b"\x0f")], rejected=False)
    assert n.request()[0] == VJ(15, 1)
    # We already ask for VJ: a trailing unsolicited one cannot be an addition.
    assert not n.on_nak([IpAddress(SERVER["remote"]), VJ(3, 1)], rejected=False)
    # A Nak with another protocol stops our VJ request, as pppd's try.neg_vj = 0.
    assert n.on_nak([IpCompressionProtocol(0x0061, b"\x00\x00")], rejected=False)
    assert not any(isinstance(o, IpCompressionProtocol) for o in n.request())
    # A reject must echo exactly what we sent.
    m = neg(vj=True)
    assert not m.on_nak([VJ(3, 1)], rejected=True)
    assert m.on_nak([VJ(15, 1)], rejected=True)
    assert m.request() == [IpAddress(IPv4Address(0))]


def test_reject_if_disagree_turns_the_nak_into_a_reject() -> None:
    n = neg(vj=True, vj_max_slot_id=3, **SERVER)
    review = n.review([VJ(15, 1), IpAddress(SERVER["remote"])], reject_if_disagree=True)
    assert review == Review(REJ, (VJ(15, 1),))


@pytest.mark.parametrize(
    ("words", "vj", "max_slot_id", "compress_slot_id"),
    [
        ([], True, 15, True),  # pppd's defaults
        (["novj"], False, 15, True),
        (["vj-max-slots", "4"], True, 3, True),
        (["novjccomp", "vj-max-slots", "16"], True, 15, False),
    ],
)
def test_pppd_words_reach_the_ipcp_config(
    tmp_path: Path, words: list[str], vj: bool, max_slot_id: int, compress_slot_id: bool
) -> None:
    config = make(tmp_path, ["noauth", *words])
    assert config.ipcp is not None
    assert (config.ipcp.vj, config.ipcp.vj_max_slot_id, config.ipcp.vj_compress_slot_id) == (
        vj,
        max_slot_id,
        compress_slot_id,
    )
