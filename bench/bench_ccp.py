"""Benchmark CCP's Deflate: per-packet costs, and the link with compression on versus off.

    python -m bench.bench_ccp --micro            # per 1500-octet packet (no root needed)
    python -m bench.bench_ccp                    # + the unpaced pty link, on vs off (root)
    python -m bench.bench_ccp --paced            # + the 115200-baud line (root, ~1 min)
    python -m bench.bench_ccp --json

Per packet (this process): Deflate compress and decompress of 1500-octet packets of English
text (Python's own ``pydoc_data`` topics, the issue's example) and of random octets, through
:class:`~pyppp.ccp.deflate.DeflateCompressor`/:class:`~pyppp.ccp.deflate.DeflateDecompressor`
exactly as the link runs them; the history kept for an incompressible packet, by the stored
block pyppp uses and by the alternative (a decompressor rebuilt with the window as
``zdict``); and HDLC framing of the same packet, for scale.

Link: ``pyppp serve`` and ``pyppp dial`` (no authentication, addresses 10.99.118.1/2) in two
namespaces joined by :class:`~pyppp.aio.cable.NullModemCable`, one TCP transfer of text and
one of random data (sha256 checked), with CCP on (pyppp's default: Deflate 15) and with
``noccp``, alternated in one run. ``--paced`` does the same on a 115200-baud line (8N1:
11,520 octets/s) and reports each transfer against that raw line rate (the issue's goals:
text >= 2.7x with Deflate, random >= 0.95x).
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sys
import time
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from pyppp import hdlc  # noqa: E402
from pyppp.aio.cable import NullModemCable  # noqa: E402
from pyppp.ccp.deflate import DeflateCompressor, DeflateDecompressor  # noqa: E402

SERVER_IP, CLIENT_IP = "10.99.118.1", "10.99.118.2"
LINE_RATE = 115200 / 10  # octets/s of a 115200-baud 8N1 line
PACKET = 1500

if TYPE_CHECKING:
    from tests.e2e.netns import Lab, LoggedProcess


def english_text(size: int) -> bytes:
    """``size`` octets of English text: Python's pydoc topics (repeated if shorter)."""
    source = next(Path(sys.base_prefix, "lib").glob("python3*/pydoc_data/topics.py"), None)
    if source is None:
        source = next(Path("/usr/lib").glob("python3*/pydoc_data/topics.py"))
    data = source.read_bytes()
    return (data * (size // len(data) + 1))[:size]


# -- per packet -----------------------------------------------------------------------------


def _per_packet(run: object, packets: list[bytes], rounds: int = 5) -> float:
    """Best microseconds per packet of ``run(packets)`` over ``rounds``."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        run(packets)  # type: ignore[operator]
        best = min(best, (time.perf_counter() - start) / len(packets))
    return best * 1e6


def micro(count: int = 2000) -> dict[str, float]:
    """Microseconds per 1500-octet packet for each operation."""
    text = english_text(count * PACKET)
    text_packets = [text[i : i + PACKET] for i in range(0, len(text), PACKET)]
    rng = random.Random(1979)
    random_packets = [rng.randbytes(PACKET) for _ in range(count)]
    out: dict[str, float] = {}

    def compress_all(packets: list[bytes]) -> list[bytes | None]:
        c = DeflateCompressor(15)
        return [c.compress(0x21, p) for p in packets]

    for name, packets in (("text", text_packets), ("random", random_packets)):
        out[f"compress {name}"] = _per_packet(compress_all, packets)
        compressed = compress_all(packets)

        def decompress_all(
            packets: list[bytes], compressed: list[bytes | None] = compressed
        ) -> None:
            d = DeflateDecompressor(15, PACKET)
            for packet, info in zip(packets, compressed, strict=True):
                if info is None:
                    d.incompressible(0x21, packet)
                else:
                    d.decompress(info)

        out[f"decompress {name}"] = _per_packet(decompress_all, packets)
        pairs = zip(packets, compressed, strict=True)
        sent = sum(2 + (len(p) if i is None else len(i)) for p, i in pairs)
        out[f"ratio {name}"] = sum(len(p) + 2 for p in packets) / sent

    def stored_block(packets: list[bytes]) -> None:
        d = DeflateDecompressor(15, PACKET)
        for packet in packets:
            d.incompressible(0x21, packet)

    def zdict_rebuild(packets: list[bytes]) -> None:
        window = bytearray()
        for packet in packets:
            window += b"\x21" + packet
            del window[:-32768]
            zlib.decompressobj(-15, zdict=bytes(window))

    out["history: stored block (pyppp)"] = _per_packet(stored_block, random_packets)
    out["history: zdict rebuild"] = _per_packet(zdict_rebuild, random_packets)
    encoder = hdlc.FrameEncoder(accm=0)
    out["HDLC framing (reference)"] = _per_packet(
        lambda ps: [encoder.encode(0x21, p) for p in ps], text_packets
    )
    return out


# -- the link -------------------------------------------------------------------------------


def _pyppp_link(
    lab: Lab, ends: tuple[str, str], words: list[str]
) -> tuple[LoggedProcess, LoggedProcess]:
    """``pyppp serve`` on ``ends[0]`` and ``pyppp dial`` on ``ends[1]``, up, with ``words``."""
    server = lab.pyppp(
        "server", lab.a, "serve", ends[0], "--auth", "none", "--config-dir",
        str(lab.config_dir("server")), f"{SERVER_IP}:{CLIENT_IP}", "noipv6", *words,
    )  # fmt: skip
    server.wait_for(r"^Connect: ppp\d+ <--> ", 15)
    client = lab.pyppp(
        "client", lab.b, "dial", ends[1], "--config-dir", str(lab.config_dir("client")),
        "noauth", "noipv6", *words,
    )  # fmt: skip
    for process in (server, client):
        process.wait_for(r"^remote IP address ", 30)
    lab.a.wait_address(SERVER_IP)
    lab.b.wait_address(CLIENT_IP)
    if "noccp" not in words:
        server.wait_for(r"^Deflate \(15\) compression enabled$", 10)
    return server, client


#: The sender's TCP congestion control: Linux's default, which the pppd guests run. A host may
#: default to another (this project's CI machine runs ``bbr``, which paces out one segment at a
#: time, each with a new timestamp, so VJ finds almost no two in a row it can compress; cubic
#: sends a segment pair for each ACK, the pair sharing its timestamps): the comparison is
#: between PPP implementations, so both sides run the same TCP.
CONGESTION = "cubic"


def _send(lab: Lab, data_file: Path) -> float:
    """One TCP transfer of ``data_file`` from the dialer's side to the server's (sha256 checked),
    the sender running :data:`CONGESTION`; its seconds from the first octet written to the
    sink's answer."""
    from tests.e2e.netns import tcp_transfer

    size = data_file.stat().st_size
    seconds, sent, got = tcp_transfer(
        lab, lab.a, SERVER_IP, lab.b, size=size, data=data_file, timeout=300,
        congestion=CONGESTION,
    )  # fmt: skip
    assert got == sent, "corrupted"
    return seconds


def transfer(data_file: Path, *, words: list[str], baud: int | None) -> float:
    """Octets/s of one TCP transfer of ``data_file`` between two pyppp processes on an unpaced
    (or token-bucket paced) :class:`~pyppp.aio.cable.NullModemCable`."""
    from tests.e2e.netns import Lab

    with Lab("ccp") as lab, NullModemCable(baud=baud) as cable:
        server, client = _pyppp_link(lab, cable.ends, words)
        seconds = _send(lab, data_file)
        client.signal(signal.SIGTERM)
        client.wait(10)
        server.wait(10)
        return data_file.stat().st_size / seconds


def link(size: int, *, baud: int | None, rounds: int, tmp: Path) -> dict[str, float]:
    """Best octets/s per (data, ccp) combination, alternated so noise hits all alike."""
    files = _data_files(size, tmp)
    best: dict[str, list[float]] = {}
    for _ in range(rounds):
        for kind, path in files.items():
            for ccp in (True, False):
                key = f"{kind}, {'Deflate' if ccp else 'noccp'}"
                words = [] if ccp else ["noccp"]
                best.setdefault(key, []).append(transfer(path, words=words, baud=baud))
    return {key: max(values) for key, values in best.items()}


def _data_files(size: int, tmp: Path) -> dict[str, Path]:
    files = {"text": tmp / "text", "random": tmp / "random"}
    files["text"].write_bytes(english_text(size))
    files["random"].write_bytes(random.Random(1962).randbytes(size))
    return files


# -- the paced line: pyppp <-> pyppp, pppd <-> pppd -----------------------------------------

#: (data, pppd words on both pyppp ends) measured by ``--paced``; the first is the goal's.
PACED_CASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("text", ()),
    ("text", ("noccp",)),
    ("random", ()),
    ("random", ("noccp",)),
    ("random", ("noccp", "novj")),
)


def _label(words: Sequence[str]) -> str:
    return " ".join(words) if words else "defaults (Deflate 15, VJ)"


def paced_transfer(data_file: Path, words: Sequence[str], baud: int = 115200) -> dict[str, float]:
    """One pyppp <-> pyppp transfer on a :class:`~bench.pacedline.PacedLine`, timed by the relay.

    Returns ``x raw`` (payload rate over the line's raw rate, from the relay's log between 2 %
    and 98 % of the line octets: :meth:`PacedLine.goodput`), ``line busy`` (line octets/s over
    that window against the raw rate: 1.0 is a line never idle), ``payload/line`` (payload
    octets per line octet that way) and ``end to end x raw`` (first octet written to the
    sink's answer, the way this bench timed it before).
    """
    from bench.pacedline import PacedLine
    from tests.e2e.netns import Lab

    payload = data_file.stat().st_size
    raw = baud / 10
    with Lab("ccp") as lab, PacedLine(baud) as line:
        server, client = _pyppp_link(lab, line.ends, list(words))
        mark = line.mark()
        seconds = _send(lab, data_file)
        rate, line_rate, octets = line.goodput(payload, mark)
        client.signal(signal.SIGTERM)
        client.wait(10)
        server.wait(10)
    return {
        "x raw": rate / raw,
        "line busy": line_rate / raw,
        "payload/line": payload / octets,
        "end to end x raw": payload / seconds / raw,
    }


_PPPD_WORDS = ("115200", "noauth", "local", "nobsdcomp", "deflate", "15")


def pppd_transfer(data_file: Path, baud: int = 115200) -> dict[str, float]:
    """The same text between two real pppds (two QEMU guests) on the same :class:`PacedLine`.

    Guest A serves the file over HTTP (busybox ``httpd``), guest B fetches it with ``wget``
    and checks its sha256; pppd's defaults (VJ, Deflate 15; BSD-Compress refused so that
    Deflate is what runs, as on the pyppp link) on both sides, TCP timestamps on (Linux's
    default) in both guests as in pyppp's namespaces. Timed from the relay's log as
    :func:`paced_transfer` is. Each TCG guest keeps a core busy: run nothing else meanwhile.

    Raises:
        RuntimeError: the transfer failed, or Deflate did not come up.
    """
    import hashlib

    from bench.pacedline import PacedLine
    from tests.interop.build_guest import ensure_guest
    from tests.interop.harness import PppdGuest

    data = data_file.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    image = ensure_guest(log=lambda msg: None)
    server = PppdGuest(
        [*_PPPD_WORDS, "10.99.119.1:10.99.119.2"],
        image=image,
        files={"/www/text": data},
        cmd="httpd -p 8000 -h /www",
        after_cmd="wait",
        timeout=300,
    )
    fetch = (
        "for i in 1 2 3 4 5; do wget -q -O /tmp/got http://10.99.119.1:8000/text && break; "
        "sleep 1; done; sha256sum /tmp/got"
    )
    client = PppdGuest(
        [*_PPPD_WORDS, "noipdefault"], image=image, cmd=fetch, after_cmd="stop", timeout=300
    )
    with server, client:
        with PacedLine(baud, devices=(server.device, client.device)) as line:
            client.wait(280)
            output = client.cmd_output
            if not any(digest in text for text in output):
                raise RuntimeError(f"pppd <-> pppd transfer failed: {output}\n{client.console()}")
            rate, line_rate, octets = line.goodput(len(data))
        for guest in (server, client):
            enabled = [m for m in guest.pppd_log() if "compression enabled" in m]
            if not any(m.startswith("Deflate (15)") for m in enabled):
                raise RuntimeError(f"pppd did not run Deflate 15: {enabled}")
    raw = baud / 10
    return {"x raw": rate / raw, "line busy": line_rate / raw, "payload/line": len(data) / octets}


def paced(
    size: int,
    *,
    rounds: int,
    tmp: Path,
    cases: Sequence[tuple[str, tuple[str, ...]]] = PACED_CASES,
    pppd: bool = True,
) -> dict[str, dict[str, float]]:
    """Every case of ``cases`` and, alone afterwards, pppd <-> pppd; the best round of each."""
    files = _data_files(size, tmp)
    best: dict[str, dict[str, float]] = {}

    def keep(key: str, figures: dict[str, float]) -> None:
        if key not in best or figures["x raw"] > best[key]["x raw"]:
            best[key] = figures

    for _ in range(rounds):
        for kind, words in cases:
            keep(f"pyppp {kind}, {_label(words)}", paced_transfer(files[kind], words))
    if pppd:
        for _ in range(rounds):
            keep("pppd text, defaults (Deflate 15, VJ)", pppd_transfer(files["text"]))
    return best


def echo(rounds: int = 1) -> dict[str, float]:
    """Median 1-byte TCP echo round trips (bench_vj's) with pyppp's defaults (Deflate, VJ)."""
    from bench.bench_vj import _echo

    out: dict[str, float] = {}
    for timestamps in (0, 1):
        key = f"timestamps {'on' if timestamps else 'off'}"
        out[key] = min(_echo((), timestamps, 115200, 20) for _ in range(rounds))
    return out


def _print_paced(figures: dict[str, dict[str, float]], rtt: dict[str, float]) -> None:
    print(
        "115200 baud, PacedLine, timed by the relay (2 % .. 98 % of the line octets); "
        f"pyppp's sender runs TCP {CONGESTION or 'with the host default congestion control'}"
    )
    print(f"  {'case':48} {'x raw':>6} {'line busy':>9} {'payload/line':>12} {'end to end':>10}")
    for key, row in figures.items():
        e2e = row.get("end to end x raw")
        tail = f"{e2e:10.3f}" if e2e is not None else f"{'':>10}"
        print(
            f"  {key:48} {row['x raw']:6.3f} {row['line busy']:9.3f}"
            f" {row['payload/line']:12.3f} {tail}"
        )
    ours = figures.get("pyppp text, " + _label(()))
    theirs = figures.get("pppd text, " + _label(()))
    if ours and theirs:
        print(f"  text, pyppp / pppd = {ours['x raw'] / theirs['x raw']:.3f}x")
    for key, ms in rtt.items():
        print(f"  1-byte TCP echo, TCP_NODELAY, median of 20, Deflate + VJ, {key}: {ms:.2f} ms")


def main(argv: list[str] | None = None) -> int:
    global CONGESTION
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--micro", action="store_true", help="per-packet figures only")
    parser.add_argument("--paced", action="store_true", help="also the 115200-baud line")
    parser.add_argument(
        "--paced-only", action="store_true", help="only the 115200-baud line (implies --paced)"
    )
    parser.add_argument("--no-pppd", action="store_true", help="without pppd <-> pppd")
    parser.add_argument(
        "--case",
        action="append",
        metavar="DATA[:WORDS]",
        help="a paced pyppp case instead of the default ones, e.g. random:noadaptive-mtu "
        "(words comma-separated; repeatable)",
    )
    parser.add_argument("--megabytes", type=float, default=4.0, help="unpaced transfer size")
    parser.add_argument("--paced-kib", type=int, default=256, help="paced transfer size")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--congestion",
        default=CONGESTION,
        help=f"the pyppp sender's TCP congestion control ('' for the host's; default {CONGESTION},"
        " as in the pppd guests)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    CONGESTION = args.congestion
    report: dict[str, dict[str, float]] = {}
    paced_figures: dict[str, dict[str, float]] = {}
    rtt: dict[str, float] = {}
    if not args.paced_only:
        report["per packet (us)"] = micro()
    if not args.micro:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="pyppp-ccp-bench-") as tmp:
            if not args.paced_only:
                size = int(args.megabytes * 1024 * 1024)
                report["unpaced pty link (octets/s)"] = link(
                    size, baud=None, rounds=args.rounds, tmp=Path(tmp)
                )
            if args.paced or args.paced_only:
                cases = PACED_CASES
                if args.case:
                    cases = tuple(
                        (kind, tuple(w for w in words.split(",") if w))
                        for kind, _, words in (c.partition(":") for c in args.case)
                    )
                paced_figures = paced(
                    args.paced_kib * 1024,
                    rounds=args.rounds,
                    tmp=Path(tmp),
                    cases=cases,
                    pppd=not args.no_pppd,
                )
                if not args.case:
                    rtt = echo()
    if args.json:
        print(json.dumps({**report, "paced": paced_figures, "echo ms": rtt}, indent=2))
        return 0
    for section, figures in report.items():
        print(section)
        for key, value in figures.items():
            print(f"  {key:34} {value:12.2f}")
    on = report.get("unpaced pty link (octets/s)")
    if on:
        for kind in ("text", "random"):
            ratio = on[f"{kind}, Deflate"] / on[f"{kind}, noccp"]
            print(f"  {kind}: Deflate / noccp = {ratio:.2f}x")
    if paced_figures:
        _print_paced(paced_figures, rtt)
    return 0


if __name__ == "__main__":
    sys.exit(main())
