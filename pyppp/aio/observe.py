"""One process's observability: its links' status on the control socket and as metrics.

An :class:`Observatory` belongs to a process, not to a link: ``pyppp serve``/``dial`` add one
link (one :class:`~pyppp.status.LinkObserver`), a process serving many lines adds one per
line, and all of them are answered on the same control socket and the same ``/metrics``.
The owner tells it what happens (:meth:`Observatory.observe` for each link event, the link of
each call, the shell's own phases); nothing here touches the data path. Everything it creates
(the socket file, the listening sockets) goes in :meth:`Observatory.close`, which the owner
calls on every exit path; a socket left by a killed process is replaced by the next one and
skipped by ``pyppp status``.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Sequence

from pyppp.aio.control import ControlServer, ControlSocketError
from pyppp.aio.metrics import MetricsServer
from pyppp.events import Event
from pyppp.status import LinkObserver, LinkStatus

__all__ = ["Observatory"]


class Observatory:
    """The control socket and the metrics of one process (see the module docstring).

    Args:
        control: run the control socket (pyppp's ``nocontrol`` turns it off).
        metrics: ``(host, port)`` to serve ``/metrics`` on, or ``None``.
        logger: where problems are reported; none of them stops a link.
    """

    def __init__(
        self,
        *,
        control: bool = True,
        metrics: tuple[str, int] | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.control = control
        self.metrics_address = metrics
        self.logger = logger or logging.getLogger("pyppp")
        self.observers: list[LinkObserver] = []
        self.server: ControlServer | None = None
        self.metrics: MetricsServer | None = None
        self._loop_time = _no_clock
        self._naming: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the metrics server, if asked for (the socket waits for a name).

        Raises:
            OSError: the metrics address cannot be listened on (pppd would not start either:
                the user asked for something that cannot be given).
        """
        self._loop_time = asyncio.get_running_loop().time
        if self.metrics_address is not None:
            host, port = self.metrics_address
            server = MetricsServer(host, port, self.links, logger=self.logger)
            await server.start()
            self.metrics = server

    def add(self, name: str, *, device: str | None = None) -> LinkObserver:
        """Start watching a link (its events, its calls); return its observer."""
        observer = LinkObserver(name, device=device, pid=os.getpid())
        self.observers.append(observer)
        return observer

    def remove(self, observer: LinkObserver) -> None:
        """Stop showing a link."""
        if observer in self.observers:
            self.observers.remove(observer)

    def observe(self, observer: LinkObserver, event: Event) -> None:
        """Tell a link's observer about one of its events."""
        observer.observe(event, self._loop_time())

    async def name(self, name: str) -> None:
        """The process has a name now (``linkname`` or the interface): open the socket.

        Only the first name counts: the socket keeps it for the life of the process, across
        ``persist``'s calls. A socket that cannot be made is one warning; the link goes on.
        """
        if not self.control or self.server is not None:
            return
        server = ControlServer(name, self.links, logger=self.logger)
        try:
            await server.start()
        except ControlSocketError as exc:
            self.logger.warning("No control socket (pyppp status will not see this link): %s", exc)
            self.control = False
            return
        self.server = server

    def name_soon(self, name: str) -> None:
        """:meth:`name`, from code that cannot wait (the socket is made on the next turns)."""
        if self.control and self.server is None and self._naming is None:
            self._naming = asyncio.get_running_loop().create_task(self.name(name))

    def links(self) -> Sequence[LinkStatus]:
        """Every link's status now."""
        now = self._loop_time()
        return [observer.status(now) for observer in self.observers]

    async def close(self) -> None:
        """Remove the control socket and stop the metrics server."""
        naming, self._naming = self._naming, None
        if naming is not None:
            await naming  # a socket still being made is removed with the others
        server, self.server = self.server, None
        if server is not None:
            await server.close()
        metrics, self.metrics = self.metrics, None
        if metrics is not None:
            await metrics.close()

    def remove_files(self) -> None:
        """Remove the socket file at once (for a cleanup that cannot await)."""
        if self.server is not None:
            self.server.remove()


def _no_clock() -> float:
    return 0.0
