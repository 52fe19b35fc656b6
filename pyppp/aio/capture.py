"""The capture files' shell: ``pcap FILE`` written as the line's bytes pass.

A line with a tap tells it every chunk it writes and reads (``tap.sent(data)``,
``tap.received(data)``); :class:`PcapTap` turns them into pcap records
(:class:`pyppp.capture.FrameCapture`), appends them to the file and flushes, so a crash loses
nothing already seen. :class:`TapSet` lets ``record`` and ``pcap`` tap one line together.
A write error is reported once and ends that capture; the link goes on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Sequence
from typing import BinaryIO, Protocol

from pyppp.capture import FrameCapture, pcap_header_problem

__all__ = ["CaptureError", "LineTap", "PcapTap", "TapSet"]


class CaptureError(OSError):
    """A capture file cannot be opened for appending."""


class LineTap(Protocol):
    """What a line tells a capture."""

    def sent(self, data: bytes) -> None:
        """Bytes written to the line."""
        ...

    def received(self, data: bytes) -> None:
        """Bytes read from the line."""
        ...

    def close(self) -> None:
        """The line is closed."""
        ...


class TapSet:
    """Several taps on one line (``record`` and ``pcap``), told in order."""

    def __init__(self, taps: Sequence[LineTap]) -> None:
        self.taps = tuple(taps)

    def sent(self, data: bytes) -> None:
        """Bytes written to the line."""
        for tap in self.taps:
            tap.sent(data)

    def received(self, data: bytes) -> None:
        """Bytes read from the line."""
        for tap in self.taps:
            tap.received(data)

    def close(self) -> None:
        """Close every tap."""
        for tap in self.taps:
            tap.close()


class PcapTap:
    """``pcap FILE``: the line's frames appended to a pcap file (link type PPP_WITH_DIR).

    The file is created mode 0600 (it holds the traffic) and appended to if it exists, as
    pppd appends to its ``record`` file; an existing file must be a pcap of the same kind.

    Args:
        path: the pcap file.
        receive_accm: returns the receive ACCM the link uses now (so that the capture deletes
            the same inserted control octets the link does).
        clock: wall-clock seconds (``time.time``), for the records' time stamps.
        logger: where a write error is reported.

    Raises:
        CaptureError: the file cannot be opened, or is not a pcap we can append to.
    """

    def __init__(
        self,
        path: str,
        *,
        receive_accm: Callable[[], int] | None = None,
        clock: Callable[[], float] = time.time,
        logger: logging.Logger | None = None,
    ) -> None:
        self.path = path
        self._clock = clock
        self._receive_accm = receive_accm
        self._logger = logger or logging.getLogger("pyppp")
        self._capture = FrameCapture()
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
                file.write(self._capture.header())
        except OSError:
            file.close()
            raise
        self._file: BinaryIO | None = file

    def sent(self, data: bytes) -> None:
        """Bytes written to the line."""
        self._feed(True, data)

    def received(self, data: bytes) -> None:
        """Bytes read from the line."""
        if self._receive_accm is not None:
            self._capture.receive_accm = self._receive_accm()
        self._feed(False, data)

    def _feed(self, sent: bool, data: bytes) -> None:
        if self._file is None:
            return
        records = self._capture.feed(sent, data, self._clock())
        if not records:
            return
        try:
            # Unbuffered: each write reaches the file at once (a crash keeps every frame).
            self._file.write(records)
        except OSError as exc:
            self._logger.error("Error writing pcap file %s: %s", self.path, exc.strerror or exc)
            self.close()

    def close(self) -> None:
        """Close the file."""
        file, self._file = self._file, None
        if file is not None:
            with contextlib.suppress(OSError):
                file.close()
