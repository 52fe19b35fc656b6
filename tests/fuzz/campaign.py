"""The long fuzz campaign: ``python -m tests.fuzz.campaign [options]``.

Without atheris: blind mutation from each target's seeds, ``--inputs N`` in all (exactly N,
shared across the targets chosen as evenly as N divides) or ``--seconds S`` per target; it
prints inputs per second and every failing input. ``--atheris TARGET`` runs one target
coverage-guided under atheris (libFuzzer flags after ``--``). ``--replay TARGET HEX`` runs one
input.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import sys
import time
import traceback

from tests.fuzz.harness import FuzzTarget, discover, mutations


def _blind(target: FuzzTarget, inputs: int | None, seconds: float | None, seed: int) -> int:
    failures = 0
    count = 0
    start = time.perf_counter()
    stream = mutations(target, seed)
    limit = itertools.count() if inputs is None else range(inputs)
    for _ in limit:
        if seconds is not None and time.perf_counter() - start >= seconds:
            break
        data = next(stream)
        count += 1
        try:
            target.run(data)
        except Exception as exc:
            failures += 1
            print(f"FAIL {target.name} {data.hex()} {type(exc).__name__}: {exc}", flush=True)
            if failures >= 10:
                break
    elapsed = time.perf_counter() - start
    rate = count / elapsed if elapsed else 0.0
    print(f"{target.name:32} {count:>9} inputs {elapsed:8.1f} s {rate:>10.0f}/s  {failures} failed")
    return failures


def main(argv: list[str] | None = None) -> int:
    """Run the campaign; exit status 1 if any input failed."""
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz.campaign")
    parser.add_argument("targets", nargs="*", help="target names or prefixes (default: all)")
    parser.add_argument("--inputs", type=int, help="inputs in all, split evenly")
    parser.add_argument("--seconds", type=float, help="seconds per target")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--replay", nargs=2, metavar=("TARGET", "HEX"))
    parser.add_argument("--atheris", metavar="TARGET")
    args, rest = parser.parse_known_args(argv)
    logging.disable(logging.CRITICAL)  # the targets log peer faults at debug level
    targets = discover()
    if args.list:
        for name in sorted(targets):
            print(name)
        return 0
    if args.replay:
        name, hexdata = args.replay
        logging.disable(logging.NOTSET)
        logging.basicConfig(level=logging.DEBUG)
        try:
            targets[name].run(bytes.fromhex(hexdata))
        except Exception:
            traceback.print_exc()
            return 1
        print("ok")
        return 0
    if args.atheris:
        import atheris

        target = targets[args.atheris]
        atheris.instrument_all()
        atheris.Setup([sys.argv[0], *rest], target.run)
        atheris.Fuzz()
        return 0
    chosen = [
        t
        for name, t in sorted(targets.items())
        if not args.targets or any(name.startswith(p) for p in args.targets)
    ]
    if not chosen:
        parser.error("no such target")
    shares = _shares(args.inputs, len(chosen), per_target=None if args.seconds else 10000)
    failed = sum(_blind(t, n, args.seconds, args.seed) for t, n in zip(chosen, shares, strict=True))
    return 1 if failed else 0


def _shares(inputs: int | None, targets: int, *, per_target: int | None) -> list[int | None]:
    """How many inputs each target gets: ``inputs`` in all, split as evenly as it divides.

    The first ``inputs % targets`` targets get one more, so the total is exactly what was
    asked (``--inputs 1000000`` over 39 targets: 25,641 each, the first one 25,642); with
    fewer inputs than targets each still gets one. Without ``inputs``, each gets
    ``per_target`` (``None``: no limit, ``--seconds`` decides).
    """
    if inputs is None:
        return [per_target] * targets
    share, extra = divmod(max(inputs, targets), targets)
    return [share + (1 if i < extra else 0) for i in range(targets)]


if __name__ == "__main__":
    sys.exit(main())
