"""Waiting for a log line, for the process wrappers of the e2e and interop tests.

``tests/e2e/netns.py``'s ``LoggedProcess`` and ``tests/interop/pyppp_proc.py``'s
``PypppProcess`` both keep a child's lines as (arrival time, text), appended by reader threads
under a condition variable; :func:`wait_line` is their one wait for a matching line.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import NoReturn

__all__ = ["wait_line"]


def wait_line(
    cond: threading.Condition,
    lines: list[tuple[float, str]],
    pattern: str,
    timeout: float,
    *,
    ended: Callable[[], bool],
    fail: Callable[[bool], NoReturn],
) -> tuple[float, re.Match[str]]:
    """Wait until a line of ``lines`` matches ``pattern`` (``re.search``); return its arrival
    time and the match. Returns at once if an earlier line matches.

    ``lines`` is appended to under ``cond``, which is notified at each line and when the
    readers end. Once ``ended()`` says no more lines will come, or after ``timeout`` seconds,
    ``fail(ended())`` raises the caller's error (with ``cond`` held: it is reentrant).
    """
    regex = re.compile(pattern)
    deadline = time.monotonic() + timeout
    seen = 0
    with cond:
        while True:
            for stamp, line in lines[seen:]:
                m = regex.search(line)
                if m:
                    return stamp, m
            seen = len(lines)
            done = ended()
            left = deadline - time.monotonic()
            if done or left <= 0:
                fail(done)
            cond.wait(min(left, 0.2))
