"""The library API: a PPP link over any asyncio byte stream, IP packets to and from the caller.

No root, no TUN, no serial port needed::

    async with PppConnection.over_stream(reader, writer, config) as ppp:
        up = await ppp.wait_network_up()          # NetworkUp(local, remote, dns, mtu)
        ppp.send(ip_packet)
        packet = await ppp.receive()
        up6 = await ppp.wait_ipv6_up()            # Ipv6Up(local, remote): with config.ipv6cp
        ppp.send(ipv6_packet)                     # the version is read from the packet

    async with linked_pair(server_config, client_config) as (server, client):
        ...                                        # two stacks joined by a socketpair
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator
from types import TracebackType

from pyppp.aio.driver import LinkRunner
from pyppp.aio.line import Line, StreamLine
from pyppp.errors import ExitStatus, LocalProtocolError
from pyppp.events import Event, Ipv6Up, LinkTerminated, NetworkUp
from pyppp.link import Link
from pyppp.linkconfig import LinkConfig
from pyppp.util import Rng

__all__ = ["PppConnection", "linked_pair"]

_SEND_HIGH_WATER = 256 * 1024
_SEND_LOW_WATER = 64 * 1024


class PppConnection:
    """A running PPP link whose IP packets go to and come from the caller.

    Made inside a running event loop; nothing happens on the line until :meth:`start` (or
    ``async with``, which starts it and closes it on the way out).

    Args:
        line: the byte stream (``pyppp.aio.line.StreamLine``, ``FdLine`` or ``ThreadLine``).
        config: the link configuration (see :func:`pyppp.simple.simple_config`).
        rng: random source (magic numbers, CHAP challenges); ``os.urandom`` by default.

    Attributes:
        link: the sans-IO :class:`~pyppp.link.Link` (its ``stats``, ``phase``...).
        line: the byte stream it runs on.
        events: every :class:`~pyppp.events.Event` the link reports, in order (unbounded:
            a caller that does not want them may ignore the queue; it holds small objects,
            a few per negotiation, not one per packet).
        runner: the :class:`~pyppp.aio.driver.LinkRunner` that drives the link.

    Raises:
        RuntimeError: made outside a running event loop.
    """

    def __init__(self, line: Line, config: LinkConfig, *, rng: Rng = os.urandom) -> None:
        self.link = Link(config, rng=rng)
        self.line = line
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        self._packets: asyncio.Queue[bytes] = asyncio.Queue(maxsize=1024)
        loop = asyncio.get_running_loop()
        self._network: asyncio.Future[NetworkUp] = loop.create_future()
        self._ipv6: asyncio.Future[Ipv6Up] = loop.create_future()
        self.runner = LinkRunner(self.link, line, on_event=self._on_event, on_ip=self._on_ip)
        self._task: asyncio.Task[int] | None = None

    @classmethod
    def over_stream(
        cls,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        config: LinkConfig,
        *,
        rng: Rng = os.urandom,
    ) -> PppConnection:
        """Make a connection over asyncio streams (a socket, a pipe...), not yet started.

        Args:
            reader: the stream the peer's bytes come from.
            writer: the stream our bytes go to (closed by :meth:`close`).
            config: the link configuration.
            rng: random source; ``os.urandom`` by default.

        Returns:
            The connection; call :meth:`start` or use it with ``async with``.
        """
        return cls(StreamLine(reader, writer), config, rng=rng)

    async def __aenter__(self) -> PppConnection:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def start(self) -> None:
        """Start LCP: the link runs in a background task from now on (a second call does nothing).

        Raises:
            RuntimeError: called outside a running event loop.
        """
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.runner.run())
            self._task.add_done_callback(self._on_done)

    def _on_done(self, task: asyncio.Task[int]) -> None:
        # If the runner itself failed, nobody must wait for the network for ever.
        error = task.exception() if not task.cancelled() else None
        for future in (self._network, self._ipv6):
            if not future.done():
                future.set_exception(ConnectionError(f"link runner stopped: {error!r}"))
                future.exception()

    async def wait_network_up(self, timeout: float | None = None) -> NetworkUp:
        """Wait until IPCP is up (at once if it has been up already).

        Args:
            timeout: seconds to wait at most (``None``: until it is up or the link ends).
                A timeout leaves the connection as it is (it may still come up).

        Returns:
            The first :class:`~pyppp.events.NetworkUp`: the negotiated addresses, DNS, MTU.

        Raises:
            ConnectionError: the link terminated (or its runner stopped) before IPCP was up.
            TimeoutError: ``timeout`` passed first.
        """
        return await asyncio.wait_for(asyncio.shield(self._network), timeout)

    async def wait_ipv6_up(self, timeout: float | None = None) -> Ipv6Up:
        """Wait until IPv6CP is up (it runs only with ``LinkConfig.ipv6cp`` set).

        Args:
            timeout: seconds to wait at most (``None``: until it is up or the link ends).

        Returns:
            The first :class:`~pyppp.events.Ipv6Up`: both link-local addresses, the MTU.

        Raises:
            ConnectionError: the link terminated (or its runner stopped) before IPv6CP was
                up; without ``LinkConfig.ipv6cp`` that is the only way this ends.
            TimeoutError: ``timeout`` passed first.
        """
        return await asyncio.wait_for(asyncio.shield(self._ipv6), timeout)

    def send(self, packet: bytes) -> bool:
        """Send an IPv4 or IPv6 packet (the version is read from its first octet).

        Args:
            packet: the datagram, from its IP header on.

        Returns:
            ``True`` if it was queued for the line; ``False`` if it was dropped: its IP
            version's control protocol is not up, it is larger than the MTU, or more than a
            bounded amount of data is already queued for the line (back-pressure: IP may lose
            packets, a sender that cares waits for :meth:`drain`). Drops are counted in
            ``link.stats``.
        """
        if self.link.pending_bytes > _SEND_HIGH_WATER:
            return False
        return self.runner.send_ip(packet)

    async def drain(self) -> None:
        """Wait until the queue towards the line is short again (or the link has ended).

        After it returns, :meth:`send` takes packets again unless the link is gone. It never
        raises: a link that ends while the queue is long ends the wait too.
        """
        while self.link.pending_bytes > _SEND_LOW_WATER and not self._closed():
            await asyncio.sleep(0.005)

    def _closed(self) -> bool:
        return self._task is not None and self._task.done()

    async def receive(self) -> bytes:
        """Wait for the next IP packet from the peer (IPv4, or IPv6 while IPv6CP is up).

        Packets wait in a bounded queue (1024); when it is full newer ones are dropped, as IP
        may. The link ending does not end the wait: combine it with :meth:`wait_closed`.

        Returns:
            The datagram, from its IP header on.
        """
        return await self._packets.get()

    async def close(self, reason: str = "User request", timeout: float = 7.0) -> int:
        """Terminate gracefully (LCP Terminate-Request) and close the line.

        Args:
            reason: the Terminate-Request's text (pppd: "User request").
            timeout: seconds to wait for the peer's Terminate-Ack and the link's end; then
                the line is dropped as by a hang-up.

        Returns:
            pppd's exit status for the link (5, user request, when it was never started or
            ended here; the status it ended with if it had ended already).

        Raises:
            Exception: whatever stopped the link's runner, if it failed (a bug, not the
                peer: the runner counts and drops what the line brings).
        """
        if self._task is None:
            self.line.close()
            return ExitStatus.USER_REQUEST
        if not self._task.done():
            self.runner.close(reason)
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout)
            except TimeoutError:
                self.runner.hangup("close timeout")
        status = await self._task
        self.line.close()
        return status

    async def wait_closed(self) -> int:
        """Wait until the link is dead (by the peer, keepalive, :meth:`close`...).

        Returns:
            pppd's exit status for the link (``pyppp.errors.ExitStatus``).

        Raises:
            LocalProtocolError: the connection was never started (nothing would end the wait).
            Exception: whatever stopped the link's runner, if it failed.
        """
        if self._task is None:
            raise LocalProtocolError("wait_closed() on a connection that was never started")
        return await asyncio.shield(self._task)

    def _on_event(self, event: Event) -> None:
        self.events.put_nowait(event)
        if isinstance(event, NetworkUp) and not self._network.done():
            self._network.set_result(event)
        elif isinstance(event, Ipv6Up) and not self._ipv6.done():
            self._ipv6.set_result(event)
        elif isinstance(event, LinkTerminated):
            for future in (self._network, self._ipv6):
                if not future.done():
                    future.set_exception(
                        ConnectionError(
                            f"link terminated ({event.reason}), status {event.exit_status}"
                        )
                    )
                    # Nobody may be waiting for the network: not an error worth a warning.
                    future.exception()

    def _on_ip(self, packet: bytes) -> None:
        with contextlib.suppress(asyncio.QueueFull):  # a slow reader loses packets, like IP
            self._packets.put_nowait(packet)


@contextlib.asynccontextmanager
async def linked_pair(
    config_a: LinkConfig, config_b: LinkConfig, *, rng: Rng = os.urandom
) -> AsyncIterator[tuple[PppConnection, PppConnection]]:
    """Two PPP stacks joined back to back by a socketpair, both started.

    Args:
        config_a: the first stack's configuration (say, the answering side).
        config_b: the second's.
        rng: random source for both; ``os.urandom`` by default.

    Yields:
        The two started connections; on the way out both are closed (their errors ignored).
    """
    sock_a, sock_b = socket.socketpair()
    reader_a, writer_a = await asyncio.open_connection(sock=sock_a)
    reader_b, writer_b = await asyncio.open_connection(sock=sock_b)
    a = PppConnection.over_stream(reader_a, writer_a, config_a, rng=rng)
    b = PppConnection.over_stream(reader_b, writer_b, config_b, rng=rng)
    a.start()
    b.start()
    try:
        yield a, b
    finally:
        await asyncio.gather(a.close(), b.close(), return_exceptions=True)
