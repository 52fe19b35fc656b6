"""The observability shell in one process: the control socket, ``/metrics``, the pcap tap.

Real sockets in a temporary runtime directory (never /run/pyppp), real HTTP scrapes parsed by
prometheus-client's own parser, a real pcap file (also of two running links with Deflate);
the status links are fixed records, so every figure is known. The refusal of another user is
tested in tests/e2e (it needs root).
"""

from __future__ import annotations

import asyncio
import os
import socket
import stat
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import replace
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from pyppp import hdlc
from pyppp.aio.api import linked_pair
from pyppp.aio.capture import CaptureError, PcapTap
from pyppp.aio.control import ControlServer, ControlSocketError, prepare_runtime_dir, socket_name
from pyppp.aio.metrics import MetricsServer
from pyppp.aio.observe import Observatory
from pyppp.capture import pcap_header, pcap_record
from pyppp.ccp.negotiator import CcpConfig
from pyppp.cli import status as status_cli
from pyppp.events import NetworkUp
from pyppp.packet import PPPProtocol
from pyppp.simple import simple_config
from pyppp.status import (
    CompressionStatus,
    Counters,
    EchoStatus,
    LinkStatus,
    Request,
)
from pyppp.util import seeded_rng
from tests.test_api import icmp_echo
from tests.test_capture import read_pcap

LINKS = [
    LinkStatus(
        "ppp0",
        interface="ppp0",
        device="/dev/ttyS0",
        pid=os.getpid(),
        phase="network",
        peer="zaphod",
        peer_auth="PAP",
        ipv4_local="10.99.0.1",
        ipv4_remote="10.99.0.2",
        uptime=65.0,
        sent=Counters(1000, 10),
        received=Counters(2000, 20),
        discarded={"bad_fcs": 3},
        echo=EchoStatus(30.0, pending=0, replies=2, rtt=0.012, rtt_average=0.011),
        compression=CompressionStatus("Deflate 15", "Deflate 15", 3000, 1000, 0, 0),
    ),
    LinkStatus("ppp1", interface="ppp1", pid=os.getpid(), phase="establish"),
]


def _links() -> Sequence[LinkStatus]:
    return LINKS


def _run(coroutine: object) -> object:
    return asyncio.run(coroutine)  # type: ignore[arg-type]


# -- the control socket -------------------------------------------------------------------------
def test_the_socket_is_private_answers_and_is_removed(tmp_path: Path) -> None:
    directory = tmp_path / "run"

    async def main() -> None:
        server = ControlServer("ppp0", _links, directory=directory)
        path = await server.start()
        assert path == directory / "ppp0.sock"
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_ISSOCK(path.stat().st_mode)
        loop = asyncio.get_running_loop()
        links = await loop.run_in_executor(None, status_cli.ask, path, Request())
        assert links == LINKS
        only = await loop.run_in_executor(None, status_cli.ask, path, Request("status", "ppp1"))
        assert [link.name for link in only] == ["ppp1"]
        await server.close()
        assert not path.exists()

    _run(main())


def test_the_socket_appears_at_its_name_already_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A client polling for the name (as `pyppp status` or a test does) must never find the
    # socket there before it is 0600: the mode is set before the socket takes its name.
    directory = tmp_path / "run"
    final = directory / "ppp0.sock"
    seen: list[bool] = []
    chmod = os.chmod

    def watching_chmod(path: str | os.PathLike[str], mode: int) -> None:
        seen.append(final.exists())
        chmod(path, mode)

    monkeypatch.setattr("pyppp.aio.control.os.chmod", watching_chmod)

    async def main() -> None:
        server = ControlServer("ppp0", _links, directory=directory)
        assert await server.start() == final
        assert stat.S_IMODE(final.stat().st_mode) == 0o600
        assert sorted(p.name for p in directory.iterdir()) == ["ppp0.sock"]
        await server.close()

    _run(main())
    assert seen == [False]


async def _exchange(path: Path, data: bytes) -> list[bytes]:
    reader, writer = await asyncio.open_unix_connection(str(path), limit=1 << 20)
    writer.write(data)
    await writer.drain()
    writer.write_eof()
    lines = []
    while line := await reader.readline():
        lines.append(line)
    writer.close()
    return lines


def test_one_connection_asks_many_times_and_bad_requests_get_reasons(tmp_path: Path) -> None:
    async def main() -> None:
        server = ControlServer("x", _links, directory=tmp_path / "run")
        path = await server.start()
        lines = await _exchange(
            path, b'{"request":"status"}\nnot json\n{"request":"stop"}\n{"request":"status"}\n'
        )
        assert len(lines) == 4
        assert b'"ok":true' in lines[0]
        assert lines[0] == lines[3]
        assert lines[1] == b'{"ok":false,"error":"a request is one JSON object per line"}\n'
        assert b"unknown request 'stop'" in lines[2]
        # A line past the limit ends the conversation with one error.
        lines = await _exchange(path, b"x" * 10000 + b"\n" + b'{"request":"status"}\n')
        assert len(lines) == 1
        assert b"longer than 4096" in lines[0]
        await server.close()

    _run(main())


def test_a_stale_socket_is_replaced_and_a_live_one_kept(tmp_path: Path) -> None:
    directory = tmp_path / "run"
    prepare_runtime_dir(directory)
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(directory / "ppp0.sock"))
    stale.close()  # the file stays, nobody listens: what a killed pyppp leaves

    async def main() -> None:
        first = ControlServer("ppp0", _links, directory=directory)
        assert await first.start() == directory / "ppp0.sock"
        second = ControlServer("ppp0", _links, directory=directory)
        assert await second.start() == directory / f"ppp0-{os.getpid()}.sock"
        await second.close()
        assert (directory / "ppp0.sock").exists()
        await first.close()
        assert list(directory.iterdir()) == []

    _run(main())


def test_the_runtime_dir_must_be_private_and_ours(tmp_path: Path) -> None:
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    loose.chmod(0o777)
    prepare_runtime_dir(loose)
    assert stat.S_IMODE(loose.stat().st_mode) == 0o700
    (tmp_path / "file").write_text("")
    with pytest.raises(ControlSocketError, match="File exists"):
        prepare_runtime_dir(tmp_path / "file")
    if os.geteuid() == 0:
        theirs = tmp_path / "theirs"
        theirs.mkdir()
        os.chown(theirs, 65534, 65534)
        with pytest.raises(ControlSocketError, match="owned by uid 65534"):
            prepare_runtime_dir(theirs)


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("ppp0", "ppp0"),
        ("../etc/x", "_etc_x"),
        (".hidden", "hidden"),
        ("", "pyppp"),
        ("a b", "a_b"),
    ],
)
def test_socket_names_are_safe_file_names(name: str, safe: str) -> None:
    assert socket_name(name) == safe


@pytest.fixture
def run_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the control sockets go for this test (PYPPP_RUNTIME_DIR, restored afterwards)."""
    path = tmp_path / "run"
    monkeypatch.setenv("PYPPP_RUNTIME_DIR", str(path))
    return path


def test_the_observatory_names_its_socket_once_and_cleans_up(run_dir: Path) -> None:
    async def main() -> None:
        observatory = Observatory()
        await observatory.start()
        observer = observatory.add("ppp0", device="/dev/ttyS0")
        await observatory.name("ppp0")
        await observatory.name("ppp9")  # later names do not move the socket
        assert observatory.server is not None
        assert observatory.server.path == run_dir / "ppp0.sock"
        observatory.observe(
            observer,
            NetworkUp(local=IPv4Address("10.99.0.1"), remote=IPv4Address("10.99.0.2")),
        )
        (status,) = observatory.links()
        assert status.ipv4_local == "10.99.0.1"
        assert status.uptime is not None
        await observatory.close()
        assert list(run_dir.iterdir()) == []

    _run(main())


def test_a_socket_named_from_code_that_cannot_wait_is_still_removed(run_dir: Path) -> None:
    async def main() -> None:
        observatory = Observatory()
        await observatory.start()
        observatory.name_soon("ppp0")  # as the supervisor does when the TUN appears
        observatory.name_soon("ppp1")
        await observatory.close()  # before the socket was even made
        assert list(run_dir.iterdir()) == []
        again = Observatory()
        await again.start()
        again.name_soon("ppp0")
        while again.server is None:  # made on the next turns of the loop (bounded below)
            await asyncio.sleep(0.001)
        assert again.server.path == run_dir / "ppp0.sock"
        await again.close()
        assert list(run_dir.iterdir()) == []

    _run(asyncio.wait_for(main(), 30))


def test_without_a_usable_directory_the_link_goes_on_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "file").write_text("")

    monkeypatch.setenv("PYPPP_RUNTIME_DIR", str(tmp_path / "file"))

    async def main() -> None:
        observatory = Observatory()
        await observatory.start()
        await observatory.name("ppp0")
        assert observatory.server is None
        await observatory.close()

    _run(main())
    assert "No control socket" in caplog.text


# -- metrics ------------------------------------------------------------------------------------
def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        return str(answer.read().decode())


def test_metrics_are_served_off_the_loop_in_the_standard_format() -> None:
    async def main() -> str:
        server = MetricsServer("127.0.0.1", 0, _links)
        await server.start()
        try:
            # The scrape thread asks the loop for the links: the loop must keep running.
            return await asyncio.get_running_loop().run_in_executor(None, _scrape, server.port)
        finally:
            await server.close()

    text = str(_run(main()))
    families = {family.name: family for family in text_string_to_metric_families(text)}
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in families.values()
        for sample in family.samples
    }
    ppp0 = (("link", "ppp0"),)
    assert samples[("pyppp_link_sent_bytes_total", ppp0)] == 1000
    assert samples[("pyppp_link_received_bytes_total", ppp0)] == 2000
    assert samples[("pyppp_link_sent_packets_total", ppp0)] == 10
    assert samples[("pyppp_link_received_packets_total", ppp0)] == 20
    assert samples[("pyppp_link_discarded_total", (("link", "ppp0"), ("reason", "bad_fcs")))] == 3
    assert samples[("pyppp_link_echo_rtt_seconds", ppp0)] == 0.012
    assert samples[("pyppp_link_uptime_seconds", ppp0)] == 65.0
    assert samples[("pyppp_link_phase", (("link", "ppp0"), ("pyppp_link_phase", "network")))] == 1
    assert samples[("pyppp_link_phase", (("link", "ppp1"), ("pyppp_link_phase", "network")))] == 0
    assert samples[("pyppp_link_network_up", (("link", "ppp0"), ("protocol", "ipv4")))] == 1
    assert samples[("pyppp_link_network_up", (("link", "ppp1"), ("protocol", "ipv4")))] == 0
    assert (
        samples[("pyppp_link_compression_ratio", (("direction", "sent"), ("link", "ppp0")))] == 3.0
    )
    assert samples[("pyppp_links", ())] == 2
    assert 'peer="zaphod"' in text
    assert "process_cpu_seconds_total" in text  # the process figures


def test_a_metrics_address_in_use_is_an_error() -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]

    async def main() -> None:
        server = MetricsServer("127.0.0.1", port, _links)
        with pytest.raises(OSError):
            await server.start()
        await server.close()

    try:
        _run(main())
    finally:
        holder.close()


# -- the pcap tap -------------------------------------------------------------------------------
LCP_ECHO = b"\x09\x01\x00\x08\x00\x00\x00\x00"


def test_the_pcap_tap_appends_each_batch_as_it_is_flushed(tmp_path: Path) -> None:
    path = tmp_path / "line.pcap"
    tap = PcapTap(str(path), clock=lambda: 100.0)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes() == pcap_header()
    tap.frame(True, PPPProtocol.LCP, LCP_ECHO, 39.5)
    tap.frame(False, PPPProtocol.IP, b"\x45abc", 39.75)
    tap.flush(40.0)  # the link's clock is 40 when the wall clock says 100
    # No close yet: the batch is in the file already (a crash would not lose it).
    batch = _record(True, PPPProtocol.LCP, LCP_ECHO, 99.5)
    batch += _record(False, PPPProtocol.IP, b"\x45abc", 99.75)
    assert path.read_bytes() == pcap_header() + batch
    tap.flush(41.0)  # nothing new: nothing written
    tap.frame(False, PPPProtocol.LCP, LCP_ECHO, 41.5)
    tap.close()  # what is left goes with the last offset
    assert tap.frames == 3
    batch += _record(False, PPPProtocol.LCP, LCP_ECHO, 101.5)
    assert path.read_bytes() == pcap_header() + batch
    again = PcapTap(str(path), clock=lambda: 100.0)
    again.frame(True, PPPProtocol.IP, b"\x45", 0.0)
    again.flush(0.0)
    again.close()
    assert path.read_bytes() == pcap_header() + batch + _record(
        True, PPPProtocol.IP, b"\x45", 100.0
    )


def _record(sent: bool, protocol: int, information: bytes, timestamp: float) -> bytes:
    return pcap_record(sent, b"\xff\x03" + protocol.to_bytes(2, "big") + information, timestamp)


def test_the_pcap_tap_refuses_a_file_of_another_kind(tmp_path: Path) -> None:
    other = tmp_path / "other.pcap"
    other.write_bytes(b"\xd4\xc3\xb2\xa1" + bytes(20))
    with pytest.raises(CaptureError, match="link type is 0"):
        PcapTap(str(other))
    with pytest.raises(CaptureError, match="No such file"):
        PcapTap(str(tmp_path / "missing" / "x.pcap"))


def test_a_running_deflate_link_writes_its_ip_to_the_pcap_batch_by_batch(tmp_path: Path) -> None:
    """LinkRunner with a capture (as ``pcap FILE`` sets it) on a link with Deflate: the file
    holds the pings both ways uncompressed, while the link still runs."""
    path = tmp_path / "client.pcap"
    ccp = CcpConfig()
    server = replace(
        simple_config(local="10.99.0.1", remote="10.99.0.2", require_pap={"zaphod": "secret"}),
        ccp=ccp,
    )
    client = replace(simple_config(user="zaphod", password="secret"), ccp=ccp)
    ping = icmp_echo("10.99.0.2", "10.99.0.1", b"ping " * 100)
    pong = icmp_echo("10.99.0.1", "10.99.0.2", b"pong " * 100)

    async def main() -> tuple[bytes, str | None]:
        async with linked_pair(server, client, rng=seeded_rng(3)) as (a, b):
            tap = PcapTap(str(path))
            b.runner.capture = tap  # what LinkRunner(capture=) does, before the link starts
            b.link.tap = tap.frame
            await a.wait_network_up(5)
            await b.wait_network_up(5)
            while b.link.compression_stats is None:
                await asyncio.sleep(0.01)  # CCP opens just after IPCP
            assert b.send(ping)
            assert await asyncio.wait_for(a.receive(), 5) == ping
            assert a.send(pong)
            assert await asyncio.wait_for(b.receive(), 5) == pong
            await asyncio.sleep(0.05)
            written = path.read_bytes()  # before the link ends: flushed batch by batch
            stats = b.link.compression_stats
            tap.close()
            return written, stats.transmit if stats else None

    started = time.time()
    written, method = asyncio.run(asyncio.wait_for(main(), 30))
    assert method is not None
    assert method.startswith("Deflate")
    frames = read_pcap(written)
    ip = [(sent, info) for sent, protocol, info, _ in frames if protocol == PPPProtocol.IP]
    assert (True, ping) in ip
    assert (False, pong) in ip
    assert PPPProtocol.COMP not in {protocol for _, protocol, _, _ in frames}
    assert b"secret" not in written
    assert all(started - 1 <= stamp <= time.time() + 1 for *_, stamp in frames)


# -- pyppp status's table -----------------------------------------------------------------------
def test_the_table_has_one_line_per_link_in_human_units() -> None:
    table = status_cli.format_table(LINKS).splitlines()
    assert table[0].split() == [
        "NAME", "IFACE", "DEVICE", "PHASE", "USER", "LOCAL", "REMOTE", "UPTIME",
        "SENT", "RECV", "ERR", "RTT", "NOTE",
    ]  # fmt: skip
    assert table[1].split() == [
        "ppp0", "ppp0", "/dev/ttyS0", "network", "zaphod", "10.99.0.1", "10.99.0.2",
        "1m05s", "1000B", "2.0K", "3", "12ms", "-",
    ]  # fmt: skip
    assert table[2].split()[:4] == ["ppp1", "ppp1", "-", "establish"]


@pytest.mark.parametrize(
    ("count", "text"),
    [(0, "0B"), (1023, "1023B"), (1536, "1.5K"), (150 * 1024, "150K"), (5 * 2**30, "5.0G")],
)
def test_human_bytes(count: int, text: str) -> None:
    assert status_cli.human_bytes(count) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "-"), (5.9, "5s"), (3725, "1h02m"), (90061, "1d01h"), (600, "10m00s")],
)
def test_human_time(seconds: float | None, text: str) -> None:
    assert status_cli.human_time(seconds) == text


def _at(name: str, sent: int, received: int, **more: object) -> LinkStatus:
    return LinkStatus(
        name,
        pid=1,
        phase="network",
        sent=Counters(sent),
        received=Counters(received),
        **more,  # type: ignore[arg-type]
    )


def test_watching_shows_rates_and_says_which_line_is_stalled_or_erroring() -> None:
    before = status_cli.Sample(
        10.0, [("s", _at(name, 1000, 1000)) for name in ("busy", "stalled", "erroring")]
    )
    after = status_cli.Sample(
        12.0,
        [
            ("s", _at("busy", 5096, 3048)),
            ("s", _at("stalled", 3000, 1000)),
            ("s", _at("erroring", 1000, 1000, discarded={"bad_fcs": 4})),
        ],
    )
    rates = status_cli.rates(before, after)
    assert rates[(1, "busy")].sent == 2048.0
    table = status_cli.format_table([link for _, link in after.links], rates)
    rows = {row.split()[0]: row for row in table.splitlines()}
    assert "2.0K/s" in rows["busy"]
    assert "1.0K/s" in rows["busy"]
    assert "stalled: nothing received" in rows["stalled"]
    assert "errors +4" in rows["erroring"]
    assert "idle" in rows["erroring"]


def test_status_skips_stale_sockets_and_reports_unreadable_ones(tmp_path: Path) -> None:
    directory = tmp_path / "run"
    prepare_runtime_dir(directory)
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(directory / "dead.sock"))
    stale.close()
    liar = socket.socket(socket.AF_UNIX)
    liar.bind(str(directory / "liar.sock"))
    liar.listen()
    try:
        result = status_cli.sample(None, directory)
    finally:
        liar.close()
    assert result.links == []
    assert [where for where, _ in result.problems] == [str(directory / "liar.sock")]


# -- pppd's record file -------------------------------------------------------------------------
def test_the_record_file_never_holds_a_pap_password(tmp_path: Path) -> None:
    from pyppp.aio.line import RecordTap

    body = b"\x06zaphod\x0dgargleBlaster"
    request = b"\x01\x01" + (4 + len(body)).to_bytes(2, "big") + body
    frame = hdlc.encode_frame(PPPProtocol.PAP, request)
    path = tmp_path / "line.record"
    tap = RecordTap(str(path), lambda: 1000.0)
    tap.sent(frame[:9])  # cut inside the password: held, not written
    assert b"gargle" not in path.read_bytes()
    tap.sent(frame[9:])
    tap.received(frame[:-6])  # the line ends inside a password: close masks what it held
    tap.close()
    data = path.read_bytes()
    assert b"gargle" not in data
    assert data.count(b"<hidden>") == 2


def test_closing_with_a_client_connected_logs_no_traceback(tmp_path: Path) -> None:
    """A client still connected when the daemon stops is hung up on quietly.

    A client that asks and never reads keeps the handler waiting for its answers to drain;
    ``close`` cancels it, its hang-up then waits for the same unread answers, and the loop's
    shutdown cancels it there. A handler that ended cancelled made Python 3.11's stream
    callback report "Exception in callback" with a traceback (seen in CI).
    """
    reported: list[dict[str, object]] = []

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _loop, ctx: reported.append(ctx))
        server = ControlServer("x", _links, directory=tmp_path / "run")
        path = await server.start()
        _reader, writer = await asyncio.open_unix_connection(str(path))
        writer.write(b'{"request":"status"}\n' * 4000)  # megabytes of answers, never read
        await writer.drain()
        await asyncio.sleep(0.2)
        await server.close()
        await asyncio.sleep(0.05)  # the handler is now hanging up, its answers still unread

    _run(main())
    assert reported == []
