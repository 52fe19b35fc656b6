"""Benchmark MPPE: the unpaced link with MPPE-128 against the same link without, in one run.

    python -m bench.bench_mppe                  # needs root (namespaces, TUN)
    python -m bench.bench_mppe --megabytes 16 --rounds 3
    python -m bench.bench_mppe --rc4 all        # every RC4 backend installed, in one run
    python -m bench.bench_mppe --rc4 pycryptodome
    python -m bench.bench_mppe --no-link --json # only the in-process cipher figures

Link: ``pyppp serve require-mschap-v2`` / ``pyppp dial`` on an unpaced
:class:`~pyppp.aio.cable.NullModemCable`, one TCP transfer (SHA-256 checked) per call, with
and without ``require-mppe-128`` on both sides (the authentication is the same, so only MPPE
differs). The modes alternate for ``--rounds`` rounds and the best MB/s of each counts, so
that the machine's noise hits them alike; the issue's goal is a ratio of at least 0.8.

Cipher: encrypt + decrypt of one packet in this process (pyppp.mppe), stateless (a key change
per packet: SHA-1 and two RC4 key schedules each side) and stateful (none), for 1500- and
64-octet packets.

RC4 backend (``--rc4``): pyppp takes the fastest one installed, the optional ``arc4`` package
(``pyppp[fast]``) when present, else pycryptodome (a dependency); ``auto`` (the default)
measures that one, ``arc4`` or ``pycryptodome`` forces one (in this process with
:func:`pyppp.mppe.set_rc4_backend`, in the pyppp processes with ``$PYPPP_RC4_BACKEND``, which
they confirm on their first line), ``all`` measures every installed backend in one run, the
link with MPPE once per backend. Every figure is printed with the backend it used.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from pyppp.aio.cable import NullModemCable  # noqa: E402
from pyppp.cli.pppd import RC4_BACKEND_ENV  # noqa: E402
from pyppp.mppe import (  # noqa: E402
    KeyStrength,
    MppeDecryptor,
    MppeEncryptor,
    MppeMode,
    available_rc4_backends,
    rc4_backend,
    set_rc4_backend,
)
from tests.e2e.netns import Lab, netns_unavailable_reason, start_call  # noqa: E402

PLAIN = "MS-CHAPv2, no MPPE"
MPPE_WORDS = ("require-mppe-128",)


@contextmanager
def rc4_environment(backend: str | None) -> Iterator[None]:
    """The pyppp processes started inside use ``backend`` (``None``: their own choice)."""
    before = os.environ.get(RC4_BACKEND_ENV)
    if backend is None:
        os.environ.pop(RC4_BACKEND_ENV, None)
    else:
        os.environ[RC4_BACKEND_ENV] = backend
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(RC4_BACKEND_ENV, None)
        else:
            os.environ[RC4_BACKEND_ENV] = before


def transfer(size: int, words: tuple[str, ...], backend: str | None) -> float:
    """MB/s of one TCP transfer through a pyppp call with ``words`` on both sides.

    ``backend``: the RC4 backend both pyppp processes must use (``None``: their default).
    """
    with rc4_environment(backend), Lab("bench") as lab, NullModemCable() as cable:
        call = start_call(lab, cable.ends, mschap_v2=True, server_words=words, client_words=words)
        call.wait_up(lab=lab)
        if words:
            for side in (call.server, call.client):
                assert side.find(r"^MPPE 128-bit stateless compression enabled$"), side.text
                if backend is not None:
                    line = rf"^pyppp: MPPE's RC4 from {backend} \("
                    assert side.find(line), f"{side.label} did not take {backend}:\n{side.text}"
        return call.measure(lab, size)


def cipher_us(size: int, *, stateful: bool, seconds: float = 0.3) -> float:
    """Microseconds to encrypt and decrypt one packet of ``size`` octets (current backend)."""
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


def backends_to_measure(choice: str) -> list[str]:
    """The RC4 backends ``--rc4`` names, as this machine has them (``auto``: pyppp's pick)."""
    installed = available_rc4_backends()
    if not installed:
        sys.exit("bench_mppe: no RC4 backend installed (pycryptodome is a dependency)")
    if choice == "all":
        return installed
    if choice == "auto":
        return [installed[0]]  # set_rc4_backend("auto"): the fastest installed
    if choice not in installed:
        sys.exit(f"bench_mppe: RC4 backend {choice} is not installed here (have: {installed})")
    return [choice]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--rc4",
        choices=("auto", "arc4", "pycryptodome", "all"),
        default="auto",
        help="RC4 backend: pyppp's own pick (auto, the default), one forced, or every one "
        "installed in one run (all)",
    )
    parser.add_argument("--no-link", action="store_true", help="only the cipher figures")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    backends = backends_to_measure(args.rc4)
    forced = args.rc4 != "auto"  # auto: the pyppp processes choose as they always do
    cipher: dict[str, dict[str, float]] = {}
    for backend in backends:
        set_rc4_backend(backend)
        assert rc4_backend() == backend
        cipher[backend] = {
            f"{size} octets {'stateful' if stateful else 'stateless'}": round(
                cipher_us(size, stateful=stateful), 2
            )
            for size in (1500, 64)
            for stateful in (False, True)
        }
    result: dict[str, object] = {
        "rc4_backends": backends,
        "rc4_installed": available_rc4_backends(),
        "cipher_us_per_packet": cipher,
    }
    if not args.no_link:
        reason = netns_unavailable_reason()
        if reason is not None:
            sys.exit(f"bench_mppe: {reason} (use --no-link)")
        size = int(args.megabytes * 1e6)
        modes: dict[str, tuple[tuple[str, ...], str | None]] = {PLAIN: ((), None)}
        for backend in backends:
            label = f"MS-CHAPv2 + MPPE-128 stateless, RC4 {backend}"
            modes[label] = (MPPE_WORDS, backend if forced else None)
        best = dict.fromkeys(modes, 0.0)
        for _ in range(args.rounds):
            for mode, (words, rc4) in modes.items():
                best[mode] = max(best[mode], transfer(size, words, rc4))
        plain = best[PLAIN]
        result["link_mb_s"] = {mode: round(rate, 2) for mode, rate in best.items()}
        result["ratio"] = {
            backend: round(best[f"MS-CHAPv2 + MPPE-128 stateless, RC4 {backend}"] / plain, 3)
            for backend in backends
        }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    how = "forced" if forced else "pyppp's pick: the fastest installed"
    print(f"RC4 backends installed: {', '.join(available_rc4_backends())}; measured: "
          f"{', '.join(backends)} ({how})")  # fmt: skip
    for backend, figures in cipher.items():
        for name, value in figures.items():
            print(f"MPPE encrypt+decrypt, RC4 {backend:12} {name:24} {value:8.2f} us/packet")
    if "link_mb_s" in result:
        for mode, rate in result["link_mb_s"].items():  # type: ignore[attr-defined]
            print(f"unpaced link, {mode:50} {rate:8.2f} MB/s")
        for backend, ratio in result["ratio"].items():  # type: ignore[attr-defined]
            print(f"MPPE-128 (RC4 {backend}) / plain (goal >= 0.8): {ratio}")


if __name__ == "__main__":
    main()
