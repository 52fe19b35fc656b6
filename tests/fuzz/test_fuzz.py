"""CI's short fuzz budget: a fixed, seeded number of inputs for every target.

``PYPPP_FUZZ_INPUTS`` sets the number per target (default 1500); a failure prints the input
that reproduces it (``python -m tests.fuzz.campaign --replay TARGET HEX``).
"""

from __future__ import annotations

import itertools
import os
import zlib

import pytest

from tests.fuzz.harness import FuzzTarget, discover, mutations

TARGETS = discover()
INPUTS = int(os.environ.get("PYPPP_FUZZ_INPUTS", "1500"))


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_fuzz_target(name: str) -> None:
    target: FuzzTarget = TARGETS[name]
    for data in itertools.islice(mutations(target, seed=zlib.crc32(name.encode())), INPUTS):
        try:
            target.run(data)
        except Exception as exc:
            pytest.fail(
                f"{name} failed on {data.hex()} ({type(exc).__name__}: {exc}); replay with "
                f"python -m tests.fuzz.campaign --replay {name} {data.hex()}"
            )
