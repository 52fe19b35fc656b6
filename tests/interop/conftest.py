"""Fixtures for the interop tests: the guest image (built once per session) and guests.

If QEMU or the guest build cannot run on this host, every interop test SKIPS with the reason,
and a warning banner is printed in the terminal summary. Set ``PYPPP_INTEROP_REQUIRED=1`` (CI)
to turn that into a test failure instead.
"""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Callable, Generator, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import pytest

from .build_guest import BuildError, GuestImage, ensure_guest
from .harness import PppdGuest
from .pyppp_proc import PypppProcess, netns_available
from .results import LAST_RUN_MD, RESULTS_MD, outcomes, write_markdown

HERE = Path(__file__).parent
_unavailable: list[str] = []
_images: list[GuestImage] = []  # the image this session used (for RESULTS.md's header)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.interop)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()
_T = TypeVar("_T", PppdGuest, PypppProcess)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _unavailable:
        terminalreporter.write_sep(
            "!", "INTEROP TESTS SKIPPED: the real pppd could not run", red=True
        )
        terminalreporter.write_line(_unavailable[0])
        terminalreporter.write_line("(set PYPPP_INTEROP_REQUIRED=1 to make this a failure)")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write this run's table if any interop scenario recorded its outcome in this session.

    The run's own table goes to the untracked results/last-run.md; the tracked RESULTS.md is
    regenerated only when asked (PYPPP_INTEROP_UPDATE_RESULTS=1).
    """
    if not outcomes():
        return
    manifest = _images[0].manifest if _images else {}
    version, kernel = manifest.get("ppp", ""), manifest.get("kernel-release", "")
    write_markdown(LAST_RUN_MD, merge=False, pppd_version=version, kernel=kernel)
    if os.environ.get("PYPPP_INTEROP_UPDATE_RESULTS") == "1":
        write_markdown(RESULTS_MD, pppd_version=version, kernel=kernel)


def _unavailable_now(reason: str) -> NoReturn:
    message = f"interop guest unavailable: {reason}"
    if os.environ.get("PYPPP_INTEROP_REQUIRED") == "1":
        pytest.fail(message + " (PYPPP_INTEROP_REQUIRED=1)", pytrace=False)
    if not _unavailable:
        _unavailable.append(message)
        warnings.warn(message, stacklevel=2)
    pytest.skip(message)


@pytest.fixture(scope="session")
def interop_image() -> GuestImage:
    """The guest image (kernel + initramfs), built on first use and cached across sessions."""
    if _unavailable:
        _unavailable_now(_unavailable[0].split(": ", 1)[1])
    if shutil.which("qemu-system-x86_64") is None:
        _unavailable_now("qemu-system-x86_64 not found (apt-get install qemu-system-x86)")
    try:
        image = ensure_guest()
    except (BuildError, OSError) as e:
        failure = f"guest build failed: {e}"
    else:
        _images.append(image)
        if image.built_seconds:
            print(f"\ninterop guest built in {image.built_seconds:.1f} s: {image.kernel.parent}")
        return image
    _unavailable_now(failure)  # outside the except: no chained traceback in the report


@pytest.fixture
def pppd_guest(
    interop_image: GuestImage, request: pytest.FixtureRequest
) -> Iterator[Callable[..., PppdGuest]]:
    """Factory: ``pppd_guest(pppd_args, **PppdGuest kwargs)`` starts a guest.

    Every guest is closed at teardown; if the test failed, their consoles are printed (pytest
    shows them under "Captured stdout teardown").
    """
    guests: list[PppdGuest] = []

    def start(pppd_args: Sequence[str], **kwargs: Any) -> PppdGuest:
        guest = PppdGuest(pppd_args, image=interop_image, **kwargs)
        guests.append(guest)
        guest.start()
        return guest

    yield start
    _close_all(
        request,
        guests,
        lambda i, g: f"===== guest {i} ({g.summary()}) console =====\n{g.console()}",
    )


@pytest.fixture
def pyppp_process(request: pytest.FixtureRequest) -> Iterator[Callable[..., PypppProcess]]:
    """Factory: ``pyppp_process(mode, device, words, **PypppProcess kwargs)`` starts pyppp.

    Each process runs in its own network namespace; all are stopped (by pid) and their
    namespaces and config directories removed at teardown. If the test failed, their logs are
    printed. Skips when pyppp processes cannot run here (not root, no ``ip``, no TUN).
    """
    reason = netns_available()
    if reason is not None:
        pytest.skip(reason)
    procs: list[PypppProcess] = []

    def start(mode: str, device: str, words: Sequence[str] = (), **kwargs: Any) -> PypppProcess:
        proc = PypppProcess(mode, device, words, **kwargs)  # type: ignore[arg-type]
        procs.append(proc)
        return proc

    yield start
    _close_all(
        request,
        procs,
        lambda i, p: f"===== pyppp {i} ({' '.join(p.argv[3:])}) =====\n{p.log_text()}",
    )


def _close_all(
    request: pytest.FixtureRequest, started: list[_T], report: Callable[[int, _T], str]
) -> None:
    """Close what a factory fixture ``started``; if the test failed, print ``report`` of each
    (after closing it: a guest's console is complete only then)."""
    failed = request.node.stash.get(_FAILED, False)
    for i, thing in enumerate(started):
        thing.close()
        if failed:
            print(report(i, thing))
