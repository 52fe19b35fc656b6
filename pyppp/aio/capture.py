"""The capture files' shell: ``pcap FILE`` written as the link carries its frames.

:class:`PcapTap` is set on the link as its tap (:attr:`pyppp.link.Link.tap`, through
:class:`~pyppp.aio.driver.LinkRunner`): the link tells it of every frame it carries, on its
own clock, and the runner calls :meth:`PcapTap.flush` after each batch of line input or
output; the records (:class:`pyppp.capture.PcapRecorder`) are then appended to the file
unbuffered, so a crash loses nothing already flushed. Time stamps are the link's clock moved
to the wall clock as each batch is written. A write error is reported once and ends that
capture; the link goes on. (``record FILE`` taps the line itself: ``pyppp.aio.line``.)
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable
from typing import BinaryIO, Protocol

from pyppp.capture import PcapRecorder, pcap_header_problem

__all__ = ["CaptureError", "FrameSink", "PcapTap"]


class CaptureError(OSError):
    """A capture file cannot be opened for appending."""


class FrameSink(Protocol):
    """What a :class:`~pyppp.aio.driver.LinkRunner` does with a capture."""

    def frame(self, sent: bool, protocol: int, information: bytes, now: float) -> None:
        """The link's tap (:data:`pyppp.capture.FrameTap`): one frame it carried."""
        ...

    def flush(self, now: float) -> None:
        """A batch of line input or output is done; ``now`` is the link's clock."""
        ...


class PcapTap:
    """``pcap FILE``: the link's frames appended to a pcap file (link type PPP_WITH_DIR).

    The file is created mode 0600 (it holds the traffic) and appended to if it exists, as
    pppd appends to its ``record`` file; an existing file must be a pcap of the same kind.

    Args:
        path: the pcap file.
        clock: wall-clock seconds (``time.time``), for the records' time stamps.
        logger: where a write error is reported.

    Raises:
        CaptureError: the file cannot be opened, or is not a pcap we can append to.
    """

    def __init__(
        self,
        path: str,
        *,
        clock: Callable[[], float] = time.time,
        logger: logging.Logger | None = None,
    ) -> None:
        self.path = path
        self._clock = clock
        self._logger = logger or logging.getLogger("pyppp")
        self._recorder = PcapRecorder()
        self.frame = self._recorder.frame
        """The link's tap: one frame it carried (see :meth:`PcapRecorder.frame`)."""
        try:
            fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise CaptureError(exc.errno, f"{path}: {exc.strerror}") from None
        file: BinaryIO = os.fdopen(fd, "a+b", buffering=0)
        try:
            file.seek(0)
            problem = pcap_header_problem(file.read(24))
            if problem is not None:
                raise CaptureError(0, f"cannot append to {path}: {problem}")
            if file.seek(0, os.SEEK_END) == 0:
                file.write(self._recorder.header())
        except OSError:
            file.close()
            raise
        self._file: BinaryIO | None = file
        # Wall clock minus the link's, as last seen (asyncio's loop clock is time.monotonic).
        self._offset = clock() - time.monotonic()

    @property
    def frames(self) -> int:
        """Frames recorded so far."""
        return self._recorder.frames

    def flush(self, now: float) -> None:
        """Append the records of the frames told since the last flush.

        Args:
            now: the link's clock now: its offset to the wall clock dates the records.
        """
        if not self._recorder.pending:
            return
        self._offset = self._clock() - now
        self._write(self._recorder.take(self._offset))

    def _write(self, records: bytes) -> None:
        if self._file is None:
            return
        try:
            # Unbuffered: each write reaches the file at once (a crash keeps every frame).
            self._file.write(records)
        except OSError as exc:
            self._logger.error("Error writing pcap file %s: %s", self.path, exc.strerror or exc)
            self.close()

    def close(self) -> None:
        """Write what is left and close the file."""
        if self._file is not None and self._recorder.pending:
            self._write(self._recorder.take(self._offset))
        file, self._file = self._file, None
        if file is not None:
            with contextlib.suppress(OSError):
                file.close()
