"""CI's short fuzz budget: a fixed, seeded number of inputs for every target.

``PYPPP_FUZZ_INPUTS`` sets the number per target (default 1500); a failure prints the input
that reproduces it (``python -m tests.fuzz.campaign --replay TARGET HEX``).
"""

from __future__ import annotations

import itertools
import logging
import os
import zlib

import pytest

from tests.fuzz import campaign
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


def test_the_campaign_runs_exactly_the_inputs_asked(capsys: pytest.CaptureFixture[str]) -> None:
    """``--inputs 1000000`` ran 999,970 (26,315 for each of 38 targets): the rest is shared."""
    try:
        assert campaign.main(["hdlc.round_trip", "hdlc.deframer", "--inputs", "7"]) == 0
    finally:
        logging.disable(logging.NOTSET)  # main silences the targets' logging
    counts = [int(line.split()[1]) for line in capsys.readouterr().out.splitlines()]
    assert counts == [4, 3]  # sorted by name: hdlc.deframer first
    for targets in (38, 39):
        shares = campaign._shares(1_000_000, targets, per_target=None)
        assert sum(n or 0 for n in shares) == 1_000_000
        assert max(n or 0 for n in shares) - min(n or 0 for n in shares) == 1
