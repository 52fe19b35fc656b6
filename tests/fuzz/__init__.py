"""Fuzz harnesses kept in the project (issue P).

Every ``fuzz_*.py`` module here defines ``TARGETS``, a list of :class:`~tests.fuzz.harness.
FuzzTarget`: a one-input function (bytes in; raises ``AssertionError`` when an oracle is
violated, any other exception is a crash) plus seed inputs. The same targets run three ways:

* in CI, a fixed, seeded budget of mutated inputs per target (``tests/fuzz/test_fuzz.py``);
* as a long campaign: ``python -m tests.fuzz.campaign --inputs 1000000`` (all targets, blind
  mutation from the seeds) or ``--seconds N``;
* coverage-guided under atheris where it installs:
  ``python -m tests.fuzz.campaign --atheris TARGET [libFuzzer flags]``.
"""

from __future__ import annotations
