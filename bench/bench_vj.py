"""Benchmark Van Jacobson compression (RFC 1144): the codec per packet, and the link with it.

    python -m bench.bench_vj                 # the codec, and two Links in-process (no root)
    python -m bench.bench_vj --link          # + unpaced pty TCP through pyppp: VJ on vs novj
    python -m bench.bench_vj --echo          # + 1-byte TCP echo on a 115200-baud line
    python -m bench.bench_vj --json

Codec: microseconds per packet for compress and decompress of the kinds of segment a link
carries: bulk data (1460 octets, SPECIAL_D), pure acks, a 1-byte echo (SPECIAL_I), segments
with TCP timestamps (every one changes the options: sent as Uncompressed-TCP, as with
Linux's slhc), and UDP (plain IP: the cost of looking).

In-process: two :class:`~pyppp.link.Link` stacks with IPCP up, one-way bursts of 32 bulk
segments through ``send_ips`` / ``data_to_send`` / ``receive_data``, packets per second with
``vj`` on and off in the same run (the CPU the data path costs, no line).

``--echo`` (root): the issue's latency goal, a 1-byte TCP echo (TCP_NODELAY, median of 20
keystrokes 50 ms apart) between the namespaces through pyppp on a line paced to 115200 baud
(:class:`bench.pacedline.PacedLine`: every octet takes its 10 bit times), VJ on and off, TCP
timestamps off and on.

``--link`` (root, namespaces): the TCP transfer of ``bench.bench_link`` through ``pyppp
serve``/``pyppp dial`` on an unpaced pty pair, with pppd's default (VJ on) and ``novj``,
alternated, best of 3, both with the namespaces' TCP timestamps on (Linux's default: VJ
cannot compress) and off.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from collections.abc import Callable
from ipaddress import IPv4Address
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from pyppp.events import NetworkUp  # noqa: E402
from pyppp.ipcp.negotiator import IpcpConfig  # noqa: E402
from pyppp.ipcp.vj import VjCompressor, VjDecompressor  # noqa: E402
from pyppp.link import Link  # noqa: E402
from pyppp.linkconfig import LinkConfig  # noqa: E402
from pyppp.packet import PPPProtocol  # noqa: E402
from pyppp.util import seeded_rng  # noqa: E402
from tests.tcpip import ACK, PSH, Segment  # noqa: E402

N = 2000


def _stream(kind: str) -> list[bytes]:
    base = Segment(src="10.99.13.1", dst="10.99.13.2", window=65535)
    if kind == "bulk 1460":
        return [bytes(base.but(seq=1 + 1460 * i, ip_id=i, data=b"d" * 1460)) for i in range(N)]
    if kind == "ack 40":
        return [bytes(base.but(ack=1 + 2920 * i, ip_id=i)) for i in range(N)]
    if kind == "echo 1":
        return [
            bytes(base.but(seq=1 + i, ack=1 + i, ip_id=i, flags=ACK | PSH, data=b"k"))
            for i in range(N)
        ]
    if kind == "timestamps 1460":
        return [
            bytes(
                base.but(
                    seq=1 + 1448 * i,
                    ip_id=i,
                    data=b"d" * 1448,
                    tcp_options=b"\x01\x01\x08\x0a" + i.to_bytes(4, "big") + bytes(4),
                )
            )
            for i in range(N)
        ]
    if kind == "udp 1472":
        return [bytes(base.but(protocol=17, ip_id=i, data=b"u" * 1472)) for i in range(N)]
    raise ValueError(kind)


KINDS = ("bulk 1460", "ack 40", "echo 1", "timestamps 1460", "udp 1472")


def _best(run: Callable[[], None], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def codec() -> dict[str, dict[str, float]]:
    """Microseconds per packet for compress and decompress, and the octets on the wire."""
    out: dict[str, dict[str, float]] = {}
    for kind in KINDS:
        packets = _stream(kind)
        wire: list[tuple[int, bytes]] = []

        def compress(packets: list[bytes] = packets, wire: list[tuple[int, bytes]] = wire) -> None:
            compressor = VjCompressor()
            wire[:] = [compressor.compress(p) for p in packets]

        seconds_c = _best(compress)

        def decompress(wire: list[tuple[int, bytes]] = wire) -> None:
            decompressor = VjDecompressor()
            for protocol, data in wire:
                if protocol == PPPProtocol.VJ_COMP:
                    decompressor.decompress(data)
                elif protocol == PPPProtocol.VJ_UNCOMP:
                    decompressor.uncompressed(data)

        seconds_d = _best(decompress)
        original = sum(map(len, packets))
        sent = sum(len(d) for _, d in wire)
        out[kind] = {
            "compress_us": seconds_c / N * 1e6,
            "decompress_us": seconds_d / N * 1e6,
            "wire_ratio": sent / original,
        }
    return out


def _pair(vj: bool) -> tuple[Link, Link]:
    a = Link(
        LinkConfig(
            ipcp=IpcpConfig(
                local=IPv4Address("10.99.13.1"), remote=IPv4Address("10.99.13.2"), vj=vj
            )
        ),
        rng=seeded_rng(1),
    )
    b = Link(LinkConfig(ipcp=IpcpConfig(vj=vj)), rng=seeded_rng(2))
    a.open(0.0)
    b.open(0.0)
    up = 0
    for _ in range(100):
        for source, target in ((a, b), (b, a)):
            target.receive_data(source.data_to_send(), 0.0)
            while (event := source.next_event()) is not None:
                up += isinstance(event, NetworkUp)
        if up == 2:
            return a, b
    raise RuntimeError("IPCP did not come up")


def in_process(rounds: int = 60) -> dict[str, float]:
    """Packets per second of bulk bursts through two Links, VJ off and on, alternated."""
    packets = _stream("bulk 1460")
    bursts = [packets[i : i + 32] for i in range(0, len(packets), 32)]
    rates: dict[str, list[float]] = {"novj": [], "vj": []}
    for _ in range(max(1, rounds // 20)):
        for label, vj in (("novj", False), ("vj", True)):
            a, b = _pair(vj)

            def run(a: Link = a, b: Link = b) -> None:
                for burst in bursts:
                    a.send_ips(burst, 1.0)
                    b.receive_data(a.data_to_send(), 1.0)
                    while b.next_event() is not None:
                        pass

            seconds = _best(run, repeat=3)
            rates[label].append(len(packets) / seconds)
    return {label: max(values) for label, values in rates.items()}


def _transfer(size: int, words: tuple[str, ...], timestamps: int) -> float:
    """MB/s of one TCP transfer through pyppp serve/dial with ``words`` on both sides."""
    import os
    import subprocess

    from pyppp.aio.cable import NullModemCable
    from tests.e2e.netns import Lab, start_call

    with Lab("bench") as lab, NullModemCable() as cable:
        os.environ["PYPPP_RUNTIME_DIR"] = str(lab.tmp / "run")  # not /run/pyppp
        for ns in (lab.a, lab.b):
            sysctl = ["sysctl", "-qw", f"net.ipv4.tcp_timestamps={timestamps}"]
            subprocess.run(ns.argv(sysctl), check=True)
        call = start_call(lab, cable.ends, server_words=words, client_words=words)
        return call.measure(lab, size)


def link_transfers(megabytes: float, rounds: int = 3) -> dict[str, float]:
    """Best MB/s of the unpaced pty transfer, VJ on and off, TCP timestamps on and off."""
    size = int(megabytes * 1024 * 1024)
    best: dict[str, float] = {}
    for _ in range(rounds):
        for timestamps in (1, 0):
            for label, words in (("vj", ("debug",)), ("novj", ("debug", "novj"))):
                key = f"{label}, timestamps {'on' if timestamps else 'off'}"
                best[key] = max(best.get(key, 0.0), _transfer(size, words, timestamps))
    return best


_ECHO_SERVER = r"""
import socket, sys
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((sys.argv[1], 7001))
srv.listen(1)
print("listening", flush=True)
conn, _ = srv.accept()
conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
while data := conn.recv(16):
    conn.sendall(data)
"""

_ECHO_CLIENT = r"""
import socket, statistics, sys, time
sock = socket.create_connection((sys.argv[1], 7001), timeout=10)
sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
times = []
for i in range(int(sys.argv[2]) + 3):
    start = time.perf_counter()
    sock.sendall(b"k")
    assert sock.recv(16) == b"k"
    times.append(time.perf_counter() - start)
    time.sleep(0.05)  # a typist: each keystroke on a quiet line
times = times[3:]  # the first ones load the VJ slots (and wake everything up)
print("median_ms", f"{statistics.median(times) * 1000:.3f}", flush=True)
print("all_ms", " ".join(f"{t * 1000:.2f}" for t in times), flush=True)
"""


def _echo(words: tuple[str, ...], timestamps: int, baud: int, count: int) -> float:
    """Median ms of a 1-byte TCP echo (TCP_NODELAY) over pyppp on a line paced to ``baud``."""
    import subprocess

    from bench.pacedline import PacedLine
    from tests.e2e.netns import SERVER_IP, Lab, start_call

    with Lab("bench") as lab, PacedLine(baud) as cable:
        for ns in (lab.a, lab.b):
            sysctl = ["sysctl", "-qw", f"net.ipv4.tcp_timestamps={timestamps}"]
            subprocess.run(ns.argv(sysctl), check=True)
        call = start_call(lab, cable.ends, server_words=words, client_words=words)
        call.wait_up(lab=lab)
        server = lab.start("echo-server", lab.a, [sys.executable, "-c", _ECHO_SERVER, SERVER_IP])
        server.wait_for("listening", 10)
        client = lab.start(
            "echo-client", lab.b, [sys.executable, "-c", _ECHO_CLIENT, SERVER_IP, str(count)]
        )
        assert client.wait(60) == 0
        found = client.find(r"^median_ms ")
        assert found is not None
        call.client.signal(signal.SIGTERM)
        call.client.wait(10)
        call.server.wait(10)
        return float(found[1].split()[1])


def echo_round_trips(baud: int = 115200, count: int = 20) -> dict[str, float]:
    """Median 1-byte echo round trips, VJ on and off, TCP timestamps off and on."""
    out: dict[str, float] = {}
    for timestamps in (0, 1):
        for label, words in (("vj", ("debug",)), ("novj", ("debug", "novj"))):
            key = f"{label}, timestamps {'on' if timestamps else 'off'}"
            out[key] = _echo(words, timestamps, baud, count)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--link", action="store_true", help="also the pty transfer (root)")
    parser.add_argument("--megabytes", type=float, default=10.0)
    parser.add_argument(
        "--echo", action="store_true", help="1-byte TCP echo on a 115200-baud line (root)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results: dict[str, object] = {"codec": codec(), "in_process": in_process()}
    if args.link:
        results["link"] = link_transfers(args.megabytes)
    if args.echo:
        results["echo"] = echo_round_trips()
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"python {sys.version.split()[0]}; VJ codec, {N} packets per kind, best of 5")
    print(f"{'segments':18} {'compress us':>12} {'decompress us':>14} {'wire/original':>14}")
    for kind, row in results["codec"].items():  # type: ignore[attr-defined]
        print(
            f"{kind:18} {row['compress_us']:>12.2f} {row['decompress_us']:>14.2f}"
            f" {row['wire_ratio']:>14.3f}"
        )
    rates = results["in_process"]
    assert isinstance(rates, dict)
    print(
        f"two Links in-process, bursts of 32 x 1500: novj {rates['novj']:,.0f} pkt/s, "
        f"vj {rates['vj']:,.0f} pkt/s ({rates['vj'] / rates['novj']:.2f} x)"
    )
    if args.echo:
        echo = results["echo"]
        assert isinstance(echo, dict)
        print("1-byte TCP echo, TCP_NODELAY, median of 20, line paced to 115200 baud:")
        for key, ms in echo.items():
            print(f"  {key:28} {ms:>7.2f} ms")
    if args.link:
        link = results["link"]
        assert isinstance(link, dict)
        print(f"pyppp serve/dial, unpaced pty, {args.megabytes:.0f} MB over TCP (best of 3):")
        for key, rate in link.items():
            print(f"  {key:28} {rate:>7.2f} MB/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
