"""A link's status as data: the control socket's requests, the records, the keepalive's RTT.

Two links back to back on the simulated clock (tests/linkpair.py): the records must say what
really happened (addresses, names, counters that match the wire, drops by reason), survive
the JSON round trip, and the LCP keepalive must measure the wire's round trip exactly.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyppp import hdlc
from pyppp.events import NetworkUp
from pyppp.link import Link
from pyppp.packet import PPPProtocol
from pyppp.simple import simple_config
from pyppp.status import (
    REQUEST_LIMIT,
    BadRequest,
    BadStatus,
    CompressionStatus,
    Counters,
    LinkObserver,
    LinkStatus,
    Request,
    decode_response,
    encode_error,
    encode_request,
    encode_response,
    parse_request,
)
from pyppp.util import seeded_rng
from tests.linkpair import LinkPair, Wire


# -- requests -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b'{"request": "status"}\n', Request("status")),
        (b'{"request":"status","link":"ppp0"}', Request("status", "ppp0")),
        (b'{"request": "status", "future": [1, 2]}\n', Request("status")),  # ignored
        (b'  {"request": "status", "link": null}  \r\n', Request("status")),
    ],
)
def test_requests_that_are_answered(line: bytes, expected: Request) -> None:
    assert parse_request(line) == expected


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (b"", "one JSON object"),
        (b"status\n", "one JSON object"),
        (b'["status"]', "one JSON object"),
        (b"\xff\xfe{}", "UTF-8"),
        (b"{}", "names what it asks"),
        (b'{"request": 1}', "names what it asks"),
        (b'{"request": "stop"}', "unknown request 'stop'"),
        (b'{"request": "status", "link": 7}', '"link"'),
        (b'{"request": "status", "link": "' + b"x" * 300 + b'"}', '"link"'),
        (b"[" * 3000 + b"]" * 3000, "longer than"),
        (b"[" * 2000 + b"]" * 2000, "one JSON object"),  # deeper than the recursion limit
    ],
)
def test_requests_that_are_refused_with_a_reason(line: bytes, why: str) -> None:
    with pytest.raises(BadRequest, match=why.replace("[", r"\[")):
        parse_request(line)


def test_the_limit_counts_the_newline() -> None:
    body = b'{"request": "status", "pad": "'
    line = body + b"x" * (REQUEST_LIMIT - len(body) - 3) + b'"}\n'
    assert len(line) == REQUEST_LIMIT
    assert parse_request(line) == Request("status")
    with pytest.raises(BadRequest):
        parse_request(line[:-1] + b" \n")


@given(st.text(max_size=100) | st.none())
def test_request_round_trip(link: str | None) -> None:
    request = Request("status", link)
    line = encode_request(request)
    assert line.endswith(b"\n")
    assert line.count(b"\n") == 1
    assert parse_request(line) == request


# -- records of two real links ------------------------------------------------------------------
def _pair(*, echo: float = 0.0, delay: float = 0.001) -> tuple[LinkPair, Link, Link]:
    """A PAP server and its client on simulated wires, opened at 0 and run until both are up."""
    server = Link(
        simple_config(
            local="10.99.0.1",
            remote="10.99.0.2",
            require_pap={"zaphod": "gargleBlaster"},
            echo_interval=echo,
        ),
        rng=seeded_rng(1),
    )
    client = Link(
        simple_config(user="zaphod", password="gargleBlaster", echo_interval=echo),
        rng=seeded_rng(2),
    )
    pair = LinkPair(server, client, a_to_b=Wire(delay=delay), b_to_a=Wire(delay=delay))
    server.open(0.0)
    client.open(0.0)
    pair.run(10.0, stop=_up)
    return pair, server, client


def _observed(pair: LinkPair, link: Link, side: str, name: str) -> LinkObserver:
    observer = LinkObserver(name, device="/dev/ttyS0", pid=42)
    observer.link = link
    for event in pair.events[side]:
        observer.observe(event, pair.now)
    return observer


def _up(pair: LinkPair) -> bool:
    return bool(pair.of_type("a", NetworkUp) and pair.of_type("b", NetworkUp))


def test_both_ends_report_what_was_negotiated_and_what_crossed_the_wire() -> None:
    pair, server, client = _pair()
    up_at = pair.now
    pair.run(up_at + 5.0)  # nothing more happens; the clock stops where traffic ended
    server_view = _observed(pair, server, "a", "server")
    client_view = _observed(pair, client, "b", "client")
    server_status = server_view.status(up_at + 65.0)
    client_status = client_view.status(up_at + 65.0)

    assert server_status.phase == client_status.phase == "network"
    assert (server_status.ipv4_local, server_status.ipv4_remote) == ("10.99.0.1", "10.99.0.2")
    assert (client_status.ipv4_local, client_status.ipv4_remote) == ("10.99.0.2", "10.99.0.1")
    assert (server_status.peer, server_status.peer_auth) == ("zaphod", "PAP")
    assert (client_status.user, client_status.user_auth) == ("zaphod", "PAP")
    assert server_status.user is None
    assert client_status.peer is None
    assert server_status.uptime == pytest.approx(65.0)
    assert server_status.lcp is not None
    assert server_status.lcp.mru == server_status.lcp.mtu == 1500
    assert server_status.lcp.pfc_sent
    assert server_status.lcp.acfc_received
    assert server_status.lcp.accm_sent == 0
    assert server_status.echo is None  # no lcp-echo-interval
    assert server_status.discarded == {}
    # The counters are the wire's: every frame each side put on its wire, as the other saw it.
    sent_frames = [frame for _, frame in pair.a_to_b.frames()]
    assert server_status.sent == Counters(
        sum(len(f.information) + 2 for f in sent_frames), len(sent_frames)
    )
    assert client_status.received == server_status.sent
    assert server_status.received == client_status.sent


def test_ip_traffic_grows_the_counters_by_what_was_carried() -> None:
    pair, server, client = _pair()
    before = _observed(pair, client, "b", "client").status(pair.now)
    packet = bytes([0x45]) + bytes(99)
    for _ in range(3):
        assert client.send_ip(packet, pair.now)
    pair.run(pair.now + 1.0)
    after = _observed(pair, client, "b", "client").status(pair.now)
    assert after.sent.packets - before.sent.packets == 3
    assert after.sent.bytes - before.sent.bytes == 3 * (100 + 2)
    received = _observed(pair, server, "a", "server").status(pair.now).received
    assert received.bytes >= before.received.bytes + 3 * 102


def test_drops_are_reported_by_reason() -> None:
    pair, server, _client = _pair()
    good = hdlc.encode_frame(PPPProtocol.IP, bytes([0x45]) + bytes(19), accm=0)
    bad = good[:-3] + bytes([good[-3] ^ 1]) + good[-2:]
    server.receive_data(bad + bad, pair.now)
    server.send_ip(bytes([0x45]) + bytes(2000), pair.now)  # larger than the MTU
    status = _observed(pair, server, "a", "server").status(pair.now)
    assert status.discarded == {"bad_fcs": 2, "ip larger than mtu": 1}
    assert status.errors == 3


def test_keepalive_round_trip_is_the_wires_round_trip() -> None:
    pair, _server, client = _pair(echo=5.0, delay=0.120)
    pair.run(pair.now + 21.0)
    status = _observed(pair, client, "b", "client").status(pair.now)
    assert status.echo is not None
    assert status.echo.interval == 5.0
    assert status.echo.replies >= 4
    # Each Echo-Request crosses the wire (120 ms) and its reply comes back (120 ms).
    assert status.echo.rtt == pytest.approx(0.240)
    assert status.echo.rtt_average == pytest.approx(0.240)
    assert status.echo.pending in (0, 1)


def test_an_unanswered_echo_is_pending_and_measures_nothing() -> None:
    pair, _server, client = _pair(echo=5.0)
    pair.run(pair.now + 6.0)
    replies = client.lcp.echo_replies
    pair.b_to_a.cut()
    pair.a_to_b.cut()
    pair.run(pair.now + 11.0)
    status = _observed(pair, client, "b", "client").status(pair.now)
    assert status.echo is not None
    assert status.echo.pending >= 2
    assert status.echo.replies == replies


def test_between_calls_the_shell_phase_shows_and_the_addresses_are_gone() -> None:
    pair, _server, client = _pair()
    client.close(now=pair.now)
    pair.run(pair.now + 10.0)
    observer = _observed(pair, client, "b", "client")
    observer.shell_phase = "holdoff"
    status = observer.status(pair.now)
    assert status.phase == "holdoff"
    assert status.ipv4_local is None
    assert status.uptime is None
    assert status.user is None
    observer.link = None
    assert observer.status(pair.now).sent == Counters()


def test_a_link_with_compression_stats_shows_them() -> None:
    class Compressing(Link):
        compression_stats = CompressionStatus("Deflate 15", "Deflate 15", 3000, 1000, 500, 1500)

    link = Compressing(simple_config(), rng=seeded_rng(3))
    observer = LinkObserver("x")
    observer.link = link
    compression = observer.status(0.0).compression
    assert compression is not None
    assert compression.sent_ratio == 3.0
    assert compression.received_ratio == 3.0
    assert CompressionStatus().sent_ratio is None


# -- the records as JSON ------------------------------------------------------------------------
def test_records_survive_the_json_round_trip() -> None:
    pair, server, client = _pair(echo=2.0)
    pair.run(pair.now + 5.0)
    server.receive_data(b"\x7e\x01\x02\x03\x04\x05\x7e", pair.now)
    statuses = [
        _observed(pair, server, "a", "server").status(pair.now),
        _observed(pair, client, "b", "client").status(pair.now),
        LinkObserver("idle").status(0.0),
        LinkStatus("c", compression=CompressionStatus("Deflate 15", None, 10, 5, 0, 0)),
    ]
    line = encode_response(statuses, pid=7, version="9.9")
    assert line.endswith(b"\n")
    assert line.count(b"\n") == 1
    response = decode_response(line)
    assert (response.pid, response.version) == (7, "9.9")
    assert list(response.links) == statuses
    document = json.loads(line)
    assert document["links"][0]["ipv4"] == {"local": "10.99.0.1", "remote": "10.99.0.2"}
    assert document["links"][0]["discarded"] == {"bad_fcs": 1}


def test_an_error_answer_reads_as_its_reason() -> None:
    with pytest.raises(BadStatus, match="unknown request"):
        decode_response(encode_error("unknown request 'x'"))


@pytest.mark.parametrize(
    "line",
    [
        b"",
        b"nonsense",
        b"[]",
        b'{"ok": true}',
        b'{"ok": true, "pid": 1, "links": [{}]}',
        b'{"ok": true, "pid": -1, "links": []}',
        b'{"ok": true, "pid": 1, "links": [{"name": "a", "pid": 1, "phase": "x", '
        b'"sent": {"bytes": true, "packets": 0}, "received": {"bytes": 0, "packets": 0}}]}',
    ],
)
def test_malformed_answers_are_bad_status(line: bytes) -> None:
    with pytest.raises(BadStatus):
        decode_response(line)
