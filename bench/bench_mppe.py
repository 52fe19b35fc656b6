"""Benchmark MPPE: the unpaced link with MPPE-128 against the same link without, in one run.

    python -m bench.bench_mppe                  # needs root (namespaces, TUN)
    python -m bench.bench_mppe --megabytes 16 --rounds 3
    python -m bench.bench_mppe --no-link --json # only the in-process cipher figures

Link: ``pyppp serve require-mschap-v2`` / ``pyppp dial`` on an unpaced
:class:`~pyppp.aio.cable.NullModemCable`, one TCP transfer (SHA-256 checked) per call, with
and without ``require-mppe-128`` on both sides (the authentication is the same, so only MPPE
differs). The two modes alternate for ``--rounds`` rounds and the best MB/s of each counts,
so that the machine's noise hits both alike; the issue's goal is a ratio of at least 0.8.

Cipher: encrypt + decrypt of one packet in this process (pyppp.mppe, RC4 from pycryptodome),
stateless (a key change per packet: SHA-1 and two RC4 key schedules each side) and stateful
(none), for 1500- and 64-octet packets.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from pyppp.aio.cable import NullModemCable  # noqa: E402
from pyppp.mppe import KeyStrength, MppeDecryptor, MppeEncryptor, MppeMode  # noqa: E402
from tests.e2e.netns import Lab, netns_unavailable_reason, start_call  # noqa: E402

MODES = {"MS-CHAPv2, no MPPE": (), "MS-CHAPv2 + MPPE-128 stateless": ("require-mppe-128",)}


def transfer(size: int, words: tuple[str, ...]) -> float:
    """MB/s of one TCP transfer through a pyppp call with ``words`` on both sides."""
    with Lab("bench") as lab, NullModemCable() as cable:
        call = start_call(lab, cable.ends, mschap_v2=True, server_words=words, client_words=words)
        call.wait_up(lab=lab)
        if words:
            client = call.client
            assert client.find(r"^MPPE 128-bit stateless compression enabled$"), client.text
        return call.measure(lab, size)


def cipher_us(size: int, *, stateful: bool, seconds: float = 0.3) -> float:
    """Microseconds to encrypt and decrypt one packet of ``size`` octets."""
    mode = MppeMode(KeyStrength.BITS_128, stateful=stateful)
    key = bytes(range(16))
    sender, receiver = MppeEncryptor(key, mode), MppeDecryptor(key, mode)
    payload = bytes(size)
    n = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(100):
            receiver.decrypt(sender.encrypt(0x21, payload))
        n += 100
    return elapsed / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-link", action="store_true", help="only the cipher figures")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result: dict[str, object] = {
        "cipher_us_per_packet": {
            f"{size} octets {'stateful' if stateful else 'stateless'}": round(
                cipher_us(size, stateful=stateful), 2
            )
            for size in (1500, 64)
            for stateful in (False, True)
        }
    }
    if not args.no_link:
        reason = netns_unavailable_reason()
        if reason is not None:
            sys.exit(f"bench_mppe: {reason} (use --no-link)")
        size = int(args.megabytes * 1e6)
        best = dict.fromkeys(MODES, 0.0)
        for _ in range(args.rounds):
            for mode, words in MODES.items():
                best[mode] = max(best[mode], transfer(size, words))
        plain, mppe = best.values()
        result["link_mb_s"] = {mode: round(rate, 2) for mode, rate in best.items()}
        result["ratio"] = round(mppe / plain, 3)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for name, value in result["cipher_us_per_packet"].items():  # type: ignore[attr-defined]
        print(f"MPPE encrypt+decrypt, {name:24} {value:8.2f} us/packet")
    if "link_mb_s" in result:
        for mode, rate in result["link_mb_s"].items():  # type: ignore[attr-defined]
            print(f"unpaced link, {mode:32} {rate:8.2f} MB/s")
        print(f"MPPE-128 / plain (goal >= 0.8): {result['ratio']}")


if __name__ == "__main__":
    main()
