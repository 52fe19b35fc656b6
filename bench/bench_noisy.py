"""TCP over a noisy line: pyppp's adaptive send size against fixed sizes, in one run.

    python -m bench.bench_noisy                         # BER 0, 1e-6, 1e-4 (needs root)
    python -m bench.bench_noisy --ber 1e-4 --megabytes 1 --words noadaptive-mtu
    python -m bench.bench_noisy --json

Each row: ``pyppp serve``/``pyppp dial`` in two namespaces on a
:class:`~pyppp.aio.cable.NullModemCable` that flips bits at the given rate (unpaced, seeded),
then one TCP transfer from the dialer to the server (sha256 checked), given ``--timeout``
seconds. With the defaults the send size follows the line (pyppp.framesize); the
``noadaptive-mtu`` rows are what pyppp (and pppd) did before. The dialer's last "Line errors"
log line shows the size it settled on. Figures from one run only compare with each other.
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
from tests.e2e.netns import SERVER_IP, Lab, start_call, tcp_transfer  # noqa: E402


def run_one(
    ber: float, megabytes: float, words: list[str], timeout: float, port: int
) -> dict[str, object]:
    """One call and one transfer; the figures as a dict (``error`` if it did not complete)."""
    size = int(megabytes * 1024 * 1024)
    row: dict[str, object] = {"ber": ber, "words": " ".join(words) or "(defaults)", "bytes": size}
    with Lab("hdlc-noisy") as lab, NullModemCable(ber=ber, seed=7) as cable:
        call = start_call(lab, cable.ends, server_words=words, client_words=words)
        call.wait_up(timeout=60, lab=lab)
        started = time.monotonic()
        try:
            seconds, sent, got = tcp_transfer(
                lab, lab.a, SERVER_IP, lab.b, size=size, port=port, timeout=timeout
            )
            row.update(seconds=round(seconds, 2), kBps=round(size / seconds / 1e3, 1))
            row["intact"] = sent == got
        except AssertionError as exc:
            row["error"] = f"not done in {time.monotonic() - started:.0f} s: {str(exc)[:80]}"
        row["up"] = call.server.find(r"^Connection terminated") is None
        sizes = [line for line in call.client.text.splitlines() if "Line errors" in line]
        row["changes"] = len(sizes)
        row["last"] = sizes[-1].split("; ", 1)[-1] if sizes else ""
        row["flipped_bits"] = cable.flipped_bits
        if "--verbose" in sys.argv:
            print(call.client.text[-3000:], "\n-----\n", call.server.text[-1500:], flush=True)
    return row


def main(argv: list[str] | None = None) -> int:
    """Run the table; print it (or JSON)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--ber", type=float, action="append", help="bit error rates")
    parser.add_argument("--megabytes", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--words", action="append", help="extra pppd words for both sides")
    parser.add_argument("--fixed", action="store_true", help="also run noadaptive-mtu rows")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="print both logs' ends")
    args = parser.parse_args(argv)
    rows = []
    port = 5201
    for ber in args.ber or [0.0, 1e-6, 1e-4]:
        variants = [list(args.words or [])]
        if args.fixed:
            variants.append([*variants[0], "noadaptive-mtu"])
        for words in variants:
            rows.append(run_one(ber, args.megabytes, words, args.timeout, port))
            port += 1
            if not args.json:
                print(rows[-1], flush=True)
    if args.json:
        print(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
