"""Per-line CPU of a dial-in server: N paced 115200-baud lines into one ``pyppp serve``.

    python -m bench.bench_dialin                    # 1 line, then 16 lines (needs root)
    python -m bench.bench_dialin --lines 16 --seconds 20
    python -m bench.bench_dialin --json

Each line is a :class:`~pyppp.aio.cable.NullModemCable` paced to 115200 baud (10 bits a byte:
11520 bytes/s each way), run in a process of its own (this file with ``--cable``) so that the
relays' own CPU is not the bench's or the server's. One ``pyppp serve DEV1 ... DEVn`` answers
every line (addresses from ``ip-pool``); each caller is a ``pyppp dial`` in a namespace of its
own. All callers then send TCP data to the server for ``--seconds`` at once.

Reported per run: each line's goodput (TCP payload bytes a second) against the raw line rate
(11520 bytes/s), the server's CPU (user + system, from /proc) per line in percent of one core,
and one dialer's CPU (a single pyppp end at full rate). Goals (issue O): with 16 lines every
line >= 0.90x and the server <= 1.0% of a core per line; a single end <= 1.5%.

The machine is shared and noisy: compare figures taken in one run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from pyppp.aio.cable import NullModemCable  # noqa: E402
from tests.e2e.netns import CONNECT, PASSWORD, USER, Lab, LoggedProcess, Netns  # noqa: E402

BAUD = 115200
LINE_RATE = BAUD / 10  # bytes a second, each way
SERVER = "10.99.16.1"

# Send as fast as TCP lets us for a while, then report what was sent.
_SOURCE = (
    CONNECT
    + r"""
import sys
host, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
sock = connect(host, port, 30)
chunk = bytes(range(256)) * 16
sock.settimeout(60)
print("connected", flush=True)
sent = 0
end = time.monotonic() + seconds
while time.monotonic() < end:
    sent += sock.send(chunk)
sock.close()
print("sent", sent, flush=True)
"""
)

# Count what arrives between the first byte and the end, in the server's namespace.
_SINK = r"""
import socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((host, port))
srv.listen(1)
print("listening", flush=True)
conn, _ = srv.accept()
total, first, last = 0, None, None
while True:
    data = conn.recv(65536)
    if not data:
        break
    now = time.monotonic()
    if first is None:
        first = now
    last = now
    total += len(data)
print("received", total, f"{(last or 0) - (first or 0):.3f}", flush=True)
"""


def cable_process() -> int:
    """``--cable``: one paced cable; print its two ends, relay until stdin closes."""
    with NullModemCable(baud=BAUD) as cable:
        print(*cable.ends, flush=True)
        sys.stdin.read()
    return 0


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(lines: int, seconds: float) -> dict[str, float]:
    """One run with ``lines`` lines; return the figures."""
    cables: list[subprocess.Popen[str]] = []
    with Lab("dialin-bench") as lab:
        try:
            ends = []
            for _ in range(lines):
                process = subprocess.Popen(
                    [sys.executable, __file__, "--cable"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
                cables.append(process)
                assert process.stdout is not None
                ends.append(process.stdout.readline().split())
            server_dir = lab.config_dir("server", pap_secrets=f"{USER} * {PASSWORD} *\n")
            client_dir = lab.config_dir("client", pap_secrets=f"{USER} * {PASSWORD}\n")
            profile = os.environ.get("BENCH_PROFILE")  # a cProfile output path
            server = lab.start(
                "server",
                lab.a,
                [
                    sys.executable,
                    *(["-m", "cProfile", "-o", profile] if profile else []),
                    "-m",
                    "pyppp",
                    "serve",
                    *(a for a, _ in ends),
                    "--auth",
                    "pap",
                    "--config-dir",
                    str(server_dir),
                    f"{SERVER}:",
                    "ip-pool",
                    "10.99.16.100-10.99.16.199",
                    "nocontrol",
                    "nodetach",
                    # The line's cost, not Deflate's: the bench's data compresses 20-fold.
                    "noccp",
                ],
            )
            for a, _ in ends:
                server.wait_for(rf"Connect: ppp\d+ <--> {a}$", timeout=30)
            clients: list[LoggedProcess] = []
            namespaces: list[Netns] = []
            for index, (_, b) in enumerate(ends):
                ns = lab.namespace(f"c{index}")
                namespaces.append(ns)
                clients.append(
                    lab.pyppp(
                        f"client{index}",
                        ns,
                        "dial",
                        b,
                        "--user",
                        USER,
                        "--config-dir",
                        str(client_dir),
                        "noauth",
                        "nocontrol",
                        "noccp",
                    )
                )
            for client in clients:
                client.wait_for(r"^remote IP address ", timeout=60)
            time.sleep(1.0)  # addresses configured, LCP quiet
            idle0, idle_wall0 = _cpu_seconds(server.proc.pid), time.monotonic()
            time.sleep(3.0)
            idle = (_cpu_seconds(server.proc.pid) - idle0) / (time.monotonic() - idle_wall0)
            sinks = []
            for index in range(lines):
                sink = lab.start(
                    f"sink{index}", lab.a, [sys.executable, "-c", _SINK, SERVER, str(6000 + index)]
                )
                sink.wait_for("listening", timeout=10)
                sinks.append(sink)
            sources = [
                lab.start(
                    f"source{index}",
                    ns,
                    [sys.executable, "-c", _SOURCE, SERVER, str(6000 + index), str(seconds)],
                )
                for index, ns in enumerate(namespaces)
            ]
            for source in sources:
                source.wait_for("connected", timeout=30)
            time.sleep(1.0)  # past slow start
            cpu0 = _cpu_seconds(server.proc.pid)
            dialer0 = _cpu_seconds(clients[0].proc.pid)
            wall0 = time.monotonic()
            strace = None
            if os.environ.get("BENCH_STRACE"):
                strace = subprocess.Popen(
                    ["strace", "-c", "-f", "-p", str(server.proc.pid)],
                    stderr=subprocess.PIPE,
                    text=True,
                )
            time.sleep(max(1.0, seconds - 3.0))
            if strace is not None:
                strace.send_signal(signal.SIGINT)
                print(strace.communicate()[1][:1500], file=sys.stderr)
            cpu1 = _cpu_seconds(server.proc.pid)
            dialer1 = _cpu_seconds(clients[0].proc.pid)
            wall1 = time.monotonic()
            rates = []
            for source, sink in zip(sources, sinks, strict=True):
                source.wait(seconds + 60)
                sink.wait(60)
                found = sink.find(r"^received ")
                assert found is not None, sink.text + source.text
                _, total, span = found[1].split()
                rates.append(int(total) / max(float(span), 1e-3))
            server.signal(signal.SIGTERM)
            server.wait(30)
        finally:
            for process in cables:
                with contextlib.suppress(Exception):
                    assert process.stdin is not None
                    process.stdin.close()
                    process.wait(5)
    wall = wall1 - wall0
    return {
        "lines": lines,
        "min_line_ratio": min(rates) / LINE_RATE,
        "mean_line_ratio": sum(rates) / len(rates) / LINE_RATE,
        "server_cpu_pct_per_line": (cpu1 - cpu0) / wall / lines * 100,
        "server_cpu_pct": (cpu1 - cpu0) / wall * 100,
        "dialer_cpu_pct": (dialer1 - dialer0) / wall * 100,
        "server_idle_cpu_pct_per_line": idle / lines * 100,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, action="append", help="lines per run (repeatable)")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--cable", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.cable:
        return cable_process()
    results = [run(n, args.seconds) for n in (args.lines or [1, 16])]
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(
        f"{'lines':>5} {'min/line':>9} {'mean/line':>9} {'server %/line':>13} "
        f"{'server %':>9} {'1 dialer %':>10} {'idle %/line':>11}"
    )
    for r in results:
        print(
            f"{r['lines']:>5} {r['min_line_ratio']:>8.3f}x {r['mean_line_ratio']:>8.3f}x "
            f"{r['server_cpu_pct_per_line']:>12.2f}% {r['server_cpu_pct']:>8.2f}% "
            f"{r['dialer_cpu_pct']:>9.2f}% {r['server_idle_cpu_pct_per_line']:>10.2f}%"
        )
    load = os.getloadavg()[0]
    print(
        f"(115200 baud = {LINE_RATE:.0f} bytes/s a line; load average {load:.2f} "
        f"on {os.cpu_count()} CPUs)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
