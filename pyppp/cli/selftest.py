"""``pyppp selftest``: frame and deframe a few thousand packets, check the FCS, print figures.

The quick check that an installation works: the RFC 1662 §C.1 check value, a round trip of
IP-like packets through every available FCS backend (the stdlib one and, when installed, the
accelerated one), and the speed reached. Exit status 0 when everything agrees, 1 otherwise.
"""

from __future__ import annotations

import argparse
import time

from pyppp import hdlc
from pyppp.util import seeded_rng

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``selftest`` options to ``parser``."""
    parser.add_argument(
        "--seconds",
        type=float,
        default=0.5,
        help="time spent measuring each backend (default: %(default)s)",
    )


def _packets(count: int, size: int) -> list[bytes]:
    # Deterministic, escape-rich enough to exercise the unescaping paths; no randomness.
    rng = seeded_rng(1662 + size)
    return [rng(size) for _ in range(count)]


def _measure(packets: list[bytes], accm: int, seconds: float) -> tuple[float, float, bool]:
    encoder = hdlc.FrameEncoder(accm=accm)
    stream = b"".join(encoder.encode(0x0021, packet) for packet in packets)
    deframer = hdlc.Deframer(accm=accm)
    received = [
        frame.information
        for start in range(0, len(stream), 4096)
        for frame in deframer.feed(stream[start : start + 4096])
    ]
    ok = received == packets and not any(deframer.discarded.values())
    octets = sum(map(len, packets))
    deadline = time.perf_counter() + seconds / 2
    passes = 0
    start = time.perf_counter()
    while time.perf_counter() < deadline:
        for packet in packets:
            encoder.encode(0x0021, packet)
        passes += 1
    encode_rate = octets * passes / (time.perf_counter() - start)
    deadline = time.perf_counter() + seconds / 2
    passes = 0
    start = time.perf_counter()
    while time.perf_counter() < deadline:
        for offset in range(0, len(stream), 4096):
            deframer.feed(stream[offset : offset + 4096])
        passes += 1
    decode_rate = octets * passes / (time.perf_counter() - start)
    return encode_rate, decode_rate, ok


def run(args: argparse.Namespace) -> int:
    """Run the self test; return 0 if every check passed, 1 otherwise."""
    seconds = max(0.05, float(getattr(args, "seconds", 0.5)))
    previous = hdlc.crc_backend()
    failures = 0
    packets = _packets(2000, 1500)
    small = _packets(2000, 64)
    print(f"FCS backends available: {', '.join(hdlc.available_crc_backends())}")
    try:
        for backend in hdlc.available_crc_backends():
            hdlc.set_crc_backend(backend)
            if hdlc.fcs16(b"123456789") != 0x906E:
                print(f"FAIL {backend}: FCS-16 check value is not 0x906E")
                failures += 1
                continue
            for label, batch, accm in (
                ("1500-byte, ACCM 0", packets, 0),
                ("64-byte, ACCM 0", small, 0),
                ("1500-byte, ACCM ~0", packets, 0xFFFFFFFF),
            ):
                encode_rate, decode_rate, ok = _measure(batch, accm, seconds / 3)
                size = len(batch[0])
                status = "ok  " if ok else "FAIL"
                failures += not ok
                print(
                    f"{status} {backend:8} {label:19} encode {encode_rate / 1e6:7.1f} MB/s "
                    f"{encode_rate / size:10.0f} pkt/s   decode {decode_rate / 1e6:7.1f} MB/s "
                    f"{decode_rate / size:10.0f} pkt/s"
                )
    finally:
        hdlc.set_crc_backend(previous)
    print(f"backend in use: {hdlc.crc_backend()}")
    print("selftest passed" if not failures else f"selftest FAILED ({failures} failures)")
    return 1 if failures else 0
