"""Benchmark a whole pyppp link: TCP throughput against a bare relay's ceiling, and link-up time.

    python -m bench.bench_link                   # one table (needs root: namespaces, TUN)
    python -m bench.bench_link --megabytes 40    # a longer transfer, steadier figures
    python -m bench.bench_link --json

Throughput: one TCP transfer (sha256 checked) from namespace b to namespace a through

* ``pyppp serve`` / ``pyppp dial`` on a :class:`~pyppp.aio.cable.NullModemCable` (unpaced),
* a **bare relay** on a cable of the same kind: two processes (this file with ``--relay``) each
  moving raw IP packets between a TUN device and its pty end with a 2-byte length prefix and
  nothing else: no HDLC, no FCS, no PPP. That is the ceiling for a Python process on this
  pty pair; pyppp's target is at least 0.7 of it.

Link-up: LCP + PAP + IPCP, pyppp to pyppp (target < 50 ms), measured two ways:

* **protocol**: two :class:`~pyppp.link.Link` stacks in this process joined by a pump with no
  delay: the CPU time of the negotiation itself (median of many runs);
* **processes**: the real ``pyppp serve``/``pyppp dial`` pair, from the dialer's first
  ``sent [LCP ConfReq`` trace line to the later of the two ``remote IP address`` lines (as
  read by this process from their output; median of a few calls), and the wall time from
  starting the dialer.

The machine is noisy and has two cores shared by both peers, the cable's relay thread and the
TCP endpoints: only the ratio taken in one run means much.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import selectors
import signal
import statistics
import struct
import sys
import time
import tty
from ipaddress import IPv4Address
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from pyppp.aio.cable import NullModemCable  # noqa: E402
from pyppp.auth.base import AuthEngine  # noqa: E402
from pyppp.auth.pap import PapAuthenticator, PapPeer  # noqa: E402
from pyppp.events import NetworkUp  # noqa: E402
from pyppp.ipcp.negotiator import IpcpConfig  # noqa: E402
from pyppp.lcp.negotiator import LcpConfig  # noqa: E402
from pyppp.link import Link  # noqa: E402
from pyppp.linkconfig import LinkConfig  # noqa: E402
from pyppp.packet import PPPProtocol  # noqa: E402
from pyppp.pppd.secrets import SecretsFile  # noqa: E402
from pyppp.util import seeded_rng  # noqa: E402
from tests.e2e.netns import (  # noqa: E402
    CLIENT_IP,
    PASSWORD,
    SERVER_IP,
    USER,
    Lab,
    netns_unavailable_reason,
    start_call,
    tcp_transfer,
)

_LENGTH = struct.Struct("!H")


# -- the bare relay (runs as a child: python -m bench.bench_link --relay DEV LOCAL REMOTE) --------


def relay(device: str, local: str, remote: str) -> None:
    """Move IP packets between a new TUN device and ``device``, length-prefixed, until killed."""
    import pytun

    tun = pytun.TunTapDevice(name="relay%d", flags=pytun.IFF_TUN | pytun.IFF_NO_PI)
    tun.addr, tun.dstaddr, tun.netmask, tun.mtu = local, remote, "255.255.255.255", 1500
    tun.up()
    tun_fd = tun.fileno()
    line = os.open(device, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    tty.setraw(line)
    os.set_blocking(tun_fd, False)
    out = bytearray()  # length-prefixed packets for the line
    pending = bytearray()  # bytes from the line not yet a whole packet
    selector = selectors.DefaultSelector()
    selector.register(tun_fd, selectors.EVENT_READ, "tun")
    selector.register(line, selectors.EVENT_READ, "line")
    writing = False
    reading_tun = True
    print("ready", flush=True)
    while True:
        for key, mask in selector.select():
            if key.data == "tun":
                for _ in range(32):
                    try:
                        packet = os.read(tun_fd, 65536)
                    except BlockingIOError:
                        break
                    out += _LENGTH.pack(len(packet)) + packet
            elif mask & selectors.EVENT_READ:
                with contextlib.suppress(BlockingIOError):
                    pending += os.read(line, 65536)
                offset = 0
                while len(pending) - offset >= 2:
                    (size,) = _LENGTH.unpack_from(pending, offset)
                    if len(pending) - offset - 2 < size:
                        break
                    with contextlib.suppress(OSError):
                        os.write(tun_fd, pending[offset + 2 : offset + 2 + size])
                    offset += 2 + size
                del pending[:offset]
            if out and (mask & selectors.EVENT_WRITE or key.data == "tun"):
                try:
                    written = os.write(line, out[:65536])
                except BlockingIOError:
                    written = 0
                del out[:written]
        # Back-pressure as pyppp's driver does: stop reading TUN while the line is backed up.
        want_write = bool(out)
        want_tun = len(out) < 65536
        if want_write != writing:
            events = selectors.EVENT_READ | (selectors.EVENT_WRITE if want_write else 0)
            selector.modify(line, events, "line")
            writing = want_write
        if want_tun != reading_tun:
            if want_tun:
                selector.register(tun_fd, selectors.EVENT_READ, "tun")
            else:
                selector.unregister(tun_fd)
            reading_tun = want_tun


# -- measurements -------------------------------------------------------------------------------


def transfer_bare(size: int) -> float:
    """MB/s of one TCP transfer through the bare relay."""
    with Lab("bench") as lab, NullModemCable() as cable:
        me = [sys.executable, "-m", "bench.bench_link", "--relay"]
        a = lab.start("relay-a", lab.a, [*me, cable.ends[0], SERVER_IP, CLIENT_IP])
        b = lab.start("relay-b", lab.b, [*me, cable.ends[1], CLIENT_IP, SERVER_IP])
        a.wait_for("^ready$", 10)
        b.wait_for("^ready$", 10)
        seconds, sent, got = tcp_transfer(lab, lab.a, SERVER_IP, lab.b, size=size)
        assert sent == got
        return size / seconds / 1e6


def transfer_pyppp(size: int) -> tuple[float, float, float]:
    """(MB/s, link-up ms from the trace, wall link-up ms) of one call through pyppp."""
    with Lab("bench") as lab, NullModemCable() as cable:
        call = start_call(lab, cable.ends)
        rate = call.measure(lab, size)
        assert call.link_up is not None
        return rate, call.link_up * 1000, call.wall_up * 1000


OBSERVE_MODES = {
    "nothing (nocontrol)": ("nocontrol",),
    "control socket (default)": (),
    "control socket + pcap + metrics": ("pcap", "{tmp}/{side}.pcap", "metrics", "9100"),
}


def transfer_observed(size: int, words: tuple[str, ...]) -> float:
    """MB/s of one TCP transfer through pyppp with extra words on both sides (``--observe``)."""
    with Lab("bench") as lab, NullModemCable() as cable:
        os.environ["PYPPP_RUNTIME_DIR"] = str(lab.tmp / "run")  # not /run/pyppp
        sides = [tuple(w.format(tmp=lab.tmp, side=side) for w in words) for side in "ab"]
        call = start_call(
            lab, cable.ends, server_words=("debug", *sides[0]), client_words=("debug", *sides[1])
        )
        return call.measure(lab, size)


def observe_costs(size: int, rounds: int) -> dict[str, float]:
    """Best MB/s per observability mode, the modes alternated so that noise hits all alike."""
    best = dict.fromkeys(OBSERVE_MODES, 0.0)
    for _ in range(rounds):
        for mode, words in OBSERVE_MODES.items():
            best[mode] = max(best[mode], transfer_observed(size, words))
    return best


def link_up_processes() -> tuple[float, float]:
    """(trace link-up ms, wall link-up ms) of one call, no transfer."""
    with Lab("bench") as lab, NullModemCable() as cable:
        call = start_call(lab, cable.ends)
        call.wait_up(lab=lab)
        assert call.link_up is not None
        call.client.signal(signal.SIGTERM)
        call.client.wait(10)
        call.server.wait(10)
        return call.link_up * 1000, call.wall_up * 1000


class _Auth:
    def __init__(self, secrets: SecretsFile | None, password: str | None) -> None:
        self.secrets, self.password = secrets, password

    def authenticator(self, protocol: int, *, algorithm: int = 5) -> AuthEngine | None:
        if protocol == PPPProtocol.PAP and self.secrets is not None:
            return PapAuthenticator("server", self.secrets)
        return None

    def peer(self, protocol: int, *, algorithm: int = 5) -> AuthEngine | None:
        if protocol == PPPProtocol.PAP and self.password is not None:
            return PapPeer(USER, self.password)
        return None


def link_up_protocol(seed: int) -> float:
    """Seconds of CPU for LCP + PAP + IPCP between two Links joined with no delay."""
    secrets = SecretsFile.parse(f"{USER} * {PASSWORD} *\n")
    server = Link(
        LinkConfig(
            lcp=LcpConfig(require_auth=(PPPProtocol.PAP,), allow_auth=()),
            ipcp=IpcpConfig(local=IPv4Address(SERVER_IP), remote=IPv4Address(CLIENT_IP)),
            auth=_Auth(secrets, None),
        ),
        rng=seeded_rng(seed),
    )
    client = Link(
        LinkConfig(lcp=LcpConfig(allow_auth=(PPPProtocol.PAP,)), auth=_Auth(None, PASSWORD)),
        rng=seeded_rng(seed + 1),
    )
    start = time.perf_counter()
    now = 0.0
    server.open(now)
    client.open(now)
    up = {"server": False, "client": False}
    for _ in range(1000):
        moved = False
        for name, source, target in (("server", server, client), ("client", client, server)):
            data = source.data_to_send()
            while (event := source.next_event()) is not None:
                if isinstance(event, NetworkUp):
                    up[name] = True
            if data:
                moved = True
                target.receive_data(data, now)
        if all(up.values()):
            return time.perf_counter() - start
        if not moved:
            # Nothing in flight: a retransmission is due (a real line would wait for it).
            timers = [t for t in (server.get_timer(), client.get_timer()) if t is not None]
            if not timers:
                break
            now = min(timers)
            server.handle_timer(now)
            client.handle_timer(now)
    raise RuntimeError("the two links did not come up")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=20.0)
    parser.add_argument("--calls", type=int, default=3, help="link-up samples with processes")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--observe",
        action="store_true",
        help="only compare the throughput with no control socket, the default, and captures on",
    )
    parser.add_argument(
        "--relay", nargs=3, metavar=("DEV", "LOCAL", "REMOTE"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.relay:
        relay(*args.relay)
        return 0
    reason = netns_unavailable_reason()
    if reason is not None:
        print(f"bench_link: {reason}", file=sys.stderr)
        return 2
    os.chdir(REPO)  # the relay children run `-m bench.bench_link`
    size = int(args.megabytes * 1024 * 1024)
    if args.observe:
        best = observe_costs(size, rounds=3)
        base = best["nothing (nocontrol)"]
        print(f"pyppp observability cost: {size / 1e6:.1f} MB over TCP, unpaced (best of 3)")
        for mode, rate in best.items():
            print(f"{mode:40} {rate:>7.2f} MB/s {rate / base:>6.2f} x")
        return 0
    protocol_ms = statistics.median(link_up_protocol(seed) for seed in range(200)) * 1000
    # Alternate the two transfers so that a noisy moment hurts both alike.
    bare, ppp, trace_ups, wall_ups = [], [], [], []
    for _ in range(2):
        bare.append(transfer_bare(size))
        rate, trace_up, wall_up = transfer_pyppp(size)
        ppp.append(rate)
        trace_ups.append(trace_up)
        wall_ups.append(wall_up)
    for _ in range(max(0, args.calls - 2)):
        trace_up, wall_up = link_up_processes()
        trace_ups.append(trace_up)
        wall_ups.append(wall_up)
    figures = {
        "bare_relay_mb_s": max(bare),
        "pyppp_mb_s": max(ppp),
        "ratio": max(ppp) / max(bare),
        "link_up_protocol_ms": protocol_ms,
        "link_up_processes_ms": statistics.median(trace_ups),
        "link_up_processes_max_ms": max(trace_ups),
        "link_up_wall_ms": statistics.median(wall_ups),
        "transfer_bytes": size,
        "load_average": os.getloadavg()[0],
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    load = os.getloadavg()[0]
    print(
        f"pyppp link benchmark: {size / 1e6:.1f} MB over TCP, unpaced pty pair (best of 2); "
        f"load average {load:.2f} on {os.cpu_count()} CPUs"
    )
    print(f"{'':44} {'figure':>12} {'target':>12}")
    print(f"{'TCP via bare length-prefixed relay':44} {max(bare):>7.2f} MB/s {'(ceiling)':>12}")
    print(
        f"{'TCP via pyppp serve / pyppp dial':44} {max(ppp):>7.2f} MB/s "
        f"{'':>12}\n{'  ratio pyppp / bare relay':44} {figures['ratio']:>10.2f} x {'>= 0.70 x':>12}"
    )
    print(
        f"{'link-up, protocol only (2 Links, 1 process)':44} {protocol_ms:>9.2f} ms {'< 50 ms':>12}"
    )
    print(
        f"{'link-up, processes: 1st ConfReq -> IPCP up':44} "
        f"{figures['link_up_processes_ms']:>9.1f} ms {'< 50 ms':>12}"
        f"   (median of {len(trace_ups)}, max {max(trace_ups):.0f} ms)"
    )
    print(f"{'link-up, wall: dialer started -> IPCP up':44} {figures['link_up_wall_ms']:>9.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
