"""Benchmark the RFC 1662 framer: naive Python vs pyppp (stdlib FCS / accelerated FCS) vs C.

    python -m bench.bench_hdlc                 # one table, ratios against the C reference
    python -m bench.bench_hdlc --seconds 0.5   # longer runs, steadier figures
    python -m bench.bench_hdlc --json          # machine-readable

Inputs are generated here (deterministic, fixed seed): 1500- and 64-byte IPv4/UDP datagrams
and a 1500-byte worst case drawn from 0x7E/0x7D and the control octets. MB/s counts payload
(Information) octets, as the framer's user sees them. Encoding is one call per packet;
decoding feeds a long stream of back-to-back frames in 4096-octet chunks, like reads from a
serial port. Both mirror ``../shared/tools/hdlc-bench`` (the C reference, written like Linux's
ppp_async.c), which is compiled and timed in the same run when gcc and ../shared are present;
the machine is noisy, so only ratios taken in one run mean anything.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench import naive_framer
from pyppp import hdlc

SIZES = {"ip1500": 1500, "ip64": 64, "worst1500": 1500}
COUNTS = {"ip1500": 200, "ip64": 4000, "worst1500": 200}
ACCMS = (0x00000000, 0xFFFFFFFF)
CHUNK = 4096
PROTOCOL_IP = 0x0021
C_REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "tools" / "hdlc-bench"


# --- inputs ----------------------------------------------------------------------------------


def _checksum(header: bytes) -> int:
    total: int = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4_udp(rng: random.Random, size: int) -> bytes:
    """An IPv4/UDP datagram of ``size`` octets with a valid header checksum, random body."""
    ip = bytearray(
        struct.pack(
            "!BBHHHBBH4s4s",
            0x45,
            0,
            size,
            rng.getrandbits(16),
            0x4000,
            64,
            17,
            0,
            bytes((10, 99, 0, 1)),
            bytes((10, 99, 0, 2)),
        )
    )
    ip[10:12] = _checksum(bytes(ip)).to_bytes(2, "big")
    udp = struct.pack("!HHHH", rng.randrange(1024, 65536), 5001, size - 20, 0)
    return bytes(ip) + udp + rng.randbytes(size - 28)


def worst_case(rng: random.Random, size: int) -> bytes:
    """Half Flag/Control-Escape, half control octets: every octet escaped under ACCM ~0."""
    specials = (0x7D, 0x7E)
    return bytes(
        rng.choice(specials) if rng.random() < 0.5 else rng.randrange(0x20) for _ in range(size)
    )


def make_inputs(kind: str, count: int, seed: int = 1662) -> list[bytes]:
    """Return ``count`` deterministic packets of the given kind."""
    rng = random.Random(f"pyppp-{seed}-{kind}")
    maker = worst_case if kind.startswith("worst") else ipv4_udp
    return [maker(rng, SIZES[kind]) for _ in range(count)]


# --- timing ----------------------------------------------------------------------------------


def _per_item(run_once: Callable[[], None], items: int, seconds: float, runs: int) -> float:
    """Median seconds per item over ``runs`` runs of about ``seconds`` each."""
    start = time.perf_counter()
    passes = 0
    while True:
        run_once()
        passes += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds / 10:
            break
    per_run = max(1, round(passes * seconds / elapsed))
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(per_run):
            run_once()
        samples.append((time.perf_counter() - start) / (per_run * items))
    return statistics.median(samples)


def _chunks(stream: bytes) -> list[bytes]:
    return [stream[i : i + CHUNK] for i in range(0, len(stream), CHUNK)]


def bench_pyppp(
    packets: list[bytes], accm: int, seconds: float, runs: int, batch: int = 0
) -> dict[str, float]:
    encoder = hdlc.FrameEncoder(accm=accm)
    encode = encoder.encode
    encode_many = encoder.encode_many
    # The data path frames what one TUN wake-up delivers (up to 32 packets) in one call.
    batches = [packets[i : i + batch] for i in range(0, len(packets), batch)] if batch else []

    def encode_all() -> None:
        if batches:
            for group in batches:
                encode_many(PROTOCOL_IP, group)
            return
        for packet in packets:
            encode(PROTOCOL_IP, packet)

    chunks = _chunks(b"".join(encode(PROTOCOL_IP, packet) for packet in packets))
    deframer = hdlc.Deframer(accm=accm)
    feed = deframer.feed

    def decode_all() -> None:
        for chunk in chunks:
            feed(chunk)

    check = hdlc.Deframer(accm=accm)
    got = [frame for chunk in chunks for frame in check.feed(chunk)]
    if [frame.information for frame in got] != packets or any(check.discarded.values()):
        raise SystemExit(f"pyppp ({hdlc.crc_backend()}) round trip failed: {check.discarded}")
    return _figures(
        _per_item(encode_all, len(packets), seconds, runs),
        _per_item(decode_all, len(packets), seconds, runs),
        len(packets[0]),
    )


def bench_naive(packets: list[bytes], accm: int, seconds: float, runs: int) -> dict[str, float]:
    packets = packets[: max(10, len(packets) // 10)]  # it is slow; a tenth is plenty

    def encode_all() -> None:
        for packet in packets:
            naive_framer.encode(PROTOCOL_IP, packet, accm)

    chunks = _chunks(b"".join(naive_framer.encode(PROTOCOL_IP, packet, accm) for packet in packets))

    def decode_all() -> None:
        deframer = naive_framer.Deframer(accm)
        for chunk in chunks:
            deframer.feed(chunk)

    check = naive_framer.Deframer(accm)
    got = [frame for chunk in chunks for frame in check.feed(chunk)]
    if [information for _, information in got] != packets:
        raise SystemExit("naive round trip failed")
    return _figures(
        _per_item(encode_all, len(packets), seconds, runs),
        _per_item(decode_all, len(packets), seconds, runs),
        len(packets[0]),
    )


def _figures(encode_time: float, decode_time: float, size: int) -> dict[str, float]:
    return {
        "enc_MBps": size / encode_time / 1e6,
        "enc_pps": 1 / encode_time,
        "dec_MBps": size / decode_time / 1e6,
        "dec_pps": 1 / decode_time,
    }


def bench_c(seconds: float) -> dict[str, dict[str, float]] | None:
    """Run the C reference; ``None`` (with a note on stderr) when it cannot run here."""
    script = C_REFERENCE / "c_reference.py"
    if not script.exists() or shutil.which("gcc") is None:
        print(f"note: no C reference ({script} or gcc missing)", file=sys.stderr)
        return None
    result = subprocess.run(
        [sys.executable, str(script), "--json", "--seconds", str(seconds)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        print(f"note: C reference failed: {result.stderr.strip()}", file=sys.stderr)
        return None
    figures: dict[str, dict[str, float]] = json.loads(result.stdout)
    return figures


# --- main ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=0.3, help="length of one timed run")
    parser.add_argument("--runs", type=int, default=5, help="timed runs; the median is kept")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--no-c", action="store_true", help="skip the C reference")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive framer")
    parser.add_argument("--only", choices=sorted(SIZES), action="append", help="input kinds")
    args = parser.parse_args(argv)

    accelerated = [name for name in hdlc.available_crc_backends() if name != "stdlib"][:1]
    kinds = args.only or list(SIZES)
    results: dict[str, dict[str, dict[str, float]]] = {}
    for kind in kinds:
        packets = make_inputs(kind, COUNTS[kind])
        for accm in ACCMS:
            row: dict[str, dict[str, float]] = {}
            if not args.no_naive:
                row["naive"] = bench_naive(packets, accm, args.seconds / 3, 3)
            for backend in ["stdlib", *accelerated]:
                hdlc.set_crc_backend(backend)
                row[f"pyppp/{backend}"] = bench_pyppp(packets, accm, args.seconds, args.runs)
                row[f"pyppp/{backend} x32"] = bench_pyppp(
                    packets, accm, args.seconds, args.runs, batch=32
                )
            results[f"{kind}/{accm:08x}"] = row
    hdlc.set_crc_backend("auto")
    c_figures = None if args.no_c else bench_c(args.seconds)
    if c_figures:
        for key, figures in c_figures.items():
            if key in results:
                results[key]["C"] = figures

    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    header = (
        f"{'input/ACCM':20} {'framer':16} {'enc MB/s':>9} {'enc pkt/s':>10} "
        f"{'dec MB/s':>9} {'dec pkt/s':>10} {'enc/C':>6} {'dec/C':>6}"
    )
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cpu, CRC backends: "
        f"{', '.join(hdlc.available_crc_backends())}"
    )
    print(header)
    print("-" * len(header))
    for key, row in results.items():
        reference = row.get("C")
        for name, fig in row.items():
            ratios = ""
            if reference and name != "C":
                ratios = (
                    f" {fig['enc_pps'] / reference['enc_pps']:6.2f}"
                    f" {fig['dec_pps'] / reference['dec_pps']:6.2f}"
                )
            print(
                f"{key:20} {name:16} {fig['enc_MBps']:9.1f} {fig['enc_pps']:10.0f} "
                f"{fig['dec_MBps']:9.1f} {fig['dec_pps']:10.0f}{ratios}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
