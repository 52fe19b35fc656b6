"""Prometheus metrics (``metrics HOST:PORT``): the links' counters in the text exposition format.

prometheus-client serves ``/metrics`` from its own thread (its WSGI server), so a scrape never
waits on the event loop and the loop never formats text. At each scrape the collector asks the
loop for the links' status (:class:`~pyppp.status.LinkStatus`, a copy made in microseconds
between two events) and turns it into metric families; nothing is counted twice and nothing
on the data path changes when metrics are on. The process figures (CPU, memory, descriptors)
come from prometheus-client's own collectors.

Metrics per link (label ``link``: the link's name, as ``pyppp status`` shows it):
``pyppp_link_info`` (interface, device, peer, addresses as labels), ``pyppp_link_phase``
(a state set), ``pyppp_link_network_up{protocol="ipv4"|"ipv6"}``,
``pyppp_link_{sent,received}_{bytes,packets}_total``, ``pyppp_link_discarded_total{reason}``,
``pyppp_link_uptime_seconds``, ``pyppp_link_echo_rtt_seconds``,
``pyppp_link_echo_rtt_average_seconds``, ``pyppp_link_echo_pending``,
``pyppp_link_compression_ratio{direction}``; and ``pyppp_info{version}``, ``pyppp_links``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Final

from prometheus_client import (
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    start_http_server,
)
from prometheus_client.core import (
    CollectorRegistry,
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
    StateSetMetricFamily,
)

from pyppp import __version__
from pyppp.status import PHASE_NAMES, LinkStatus

__all__ = ["MetricsServer", "collect_links"]

_SCRAPE_WAIT: Final = 2.0  # seconds a scrape waits for the loop before it reports no links
_PHASES: Final = (*PHASE_NAMES.values(), "connecting", "holdoff")


class MetricsServer:
    """Serves ``/metrics`` on ``host:port`` for the links ``links()`` returns.

    Args:
        host: the address to listen on (loopback unless the user named another).
        port: the TCP port (0: any free one; :attr:`port` tells which).
        links: returns the links' status now; called on the event loop.
        logger: where problems are reported.
    """

    def __init__(
        self,
        host: str,
        port: int,
        links: Callable[[], Sequence[LinkStatus]],
        *,
        logger: logging.Logger | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.links = links
        self.logger = logger or logging.getLogger("pyppp")
        self.registry = CollectorRegistry()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._httpd: object | None = None
        self._shutdown: Callable[[], None] | None = None

    async def start(self) -> None:
        """Start listening (the bind, and any name lookup, run off the loop).

        Raises:
            OSError: the address cannot be listened on.
        """
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.registry.register(_LinkCollector(self._snapshot))
        start = functools.partial(
            start_http_server, self.port, addr=self.host, registry=self.registry
        )
        httpd, thread = await self._loop.run_in_executor(None, start)
        self.port = httpd.server_port

        def shutdown() -> None:
            httpd.shutdown()
            httpd.server_close()
            thread.join(2.0)

        self._httpd = httpd
        self._shutdown = shutdown
        self.logger.debug("metrics on http://%s:%d/metrics", self.host, self.port)

    async def close(self) -> None:
        """Stop serving and close the listening socket."""
        shutdown, self._shutdown = self._shutdown, None
        self._httpd = None
        if shutdown is not None:
            await asyncio.get_running_loop().run_in_executor(None, shutdown)

    def _snapshot(self) -> Sequence[LinkStatus]:
        """The links' status, taken on the loop (this runs in the HTTP server's thread)."""
        loop = self._loop
        if loop is None or threading.get_ident() == self._loop_thread:
            return list(self.links())
        future: concurrent.futures.Future[list[LinkStatus]] = concurrent.futures.Future()

        def fill() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(list(self.links()))
            except Exception as exc:
                future.set_exception(exc)

        try:
            loop.call_soon_threadsafe(fill)
            return future.result(_SCRAPE_WAIT)
        except (RuntimeError, concurrent.futures.TimeoutError):
            future.cancel()  # the loop is closing, or too busy: answer without links
            return []


class _LinkCollector:
    """A prometheus-client collector of the links' metrics (read at each scrape)."""

    def __init__(self, links: Callable[[], Sequence[LinkStatus]]) -> None:
        self._links = links

    def collect(self) -> Iterator[Metric]:
        yield from collect_links(self._links())


def collect_links(links: Sequence[LinkStatus]) -> Iterator[Metric]:
    """The metric families for ``links`` (see the module docstring)."""
    info = GaugeMetricFamily("pyppp_info", "pyppp's version", labels=["version"])
    info.add_metric([__version__], 1)
    yield info
    yield GaugeMetricFamily("pyppp_links", "Links run by this process", value=len(links))
    label = ["link"]
    details = InfoMetricFamily(
        "pyppp_link",
        "The link's interface, device, peer and addresses",
        labels=[
            "link",
            "interface",
            "device",
            "peer",
            "ipv4_local",
            "ipv4_remote",
            "ipv6_local",
            "ipv6_remote",
        ],
    )
    phase = StateSetMetricFamily("pyppp_link_phase", "The link's phase", labels=label)
    network = GaugeMetricFamily(
        "pyppp_link_network_up", "1 while the protocol flows", labels=["link", "protocol"]
    )
    families = {
        key: CounterMetricFamily(f"pyppp_link_{key}", text, labels=label)
        for key, text in (
            ("sent_bytes", "Octets sent (protocol field and information)"),
            ("received_bytes", "Octets received (protocol field and information)"),
            ("sent_packets", "Frames sent"),
            ("received_packets", "Good frames received"),
        )
    }
    discarded = CounterMetricFamily(
        "pyppp_link_discarded", "Frames and packets dropped, by reason", labels=["link", "reason"]
    )
    uptime = GaugeMetricFamily(
        "pyppp_link_uptime_seconds", "Seconds since the network came up", labels=label
    )
    rtt = GaugeMetricFamily(
        "pyppp_link_echo_rtt_seconds", "Round trip of the last LCP keepalive echo", labels=label
    )
    rtt_average = GaugeMetricFamily(
        "pyppp_link_echo_rtt_average_seconds",
        "LCP keepalive round trips, smoothed (RFC 6298 SRTT)",
        labels=label,
    )
    pending = GaugeMetricFamily(
        "pyppp_link_echo_pending", "LCP keepalive echoes not answered yet", labels=label
    )
    ratio = GaugeMetricFamily(
        "pyppp_link_compression_ratio",
        "Uncompressed over compressed octets (CCP)",
        labels=["link", "direction"],
    )
    for link in links:
        name = [link.name]
        details.add_metric(
            [
                link.name,
                link.interface or "",
                link.device or "",
                link.peer or link.user or "",
                link.ipv4_local or "",
                link.ipv4_remote or "",
                link.ipv6_local or "",
                link.ipv6_remote or "",
            ],
            {},
        )
        phase.add_metric(name, {state: state == link.phase for state in _PHASES})
        network.add_metric([link.name, "ipv4"], int(link.ipv4_local is not None))
        network.add_metric([link.name, "ipv6"], int(link.ipv6_local is not None))
        families["sent_bytes"].add_metric(name, link.sent.bytes)
        families["received_bytes"].add_metric(name, link.received.bytes)
        families["sent_packets"].add_metric(name, link.sent.packets)
        families["received_packets"].add_metric(name, link.received.packets)
        for reason, count in sorted(link.discarded.items()):
            discarded.add_metric([link.name, reason], count)
        if link.uptime is not None:
            uptime.add_metric(name, link.uptime)
        echo = link.echo
        if echo is not None:
            pending.add_metric(name, echo.pending)
            if echo.rtt is not None:
                rtt.add_metric(name, echo.rtt)
            if echo.rtt_average is not None:
                rtt_average.add_metric(name, echo.rtt_average)
        compression = link.compression
        if compression is not None:
            for direction, value in (
                ("sent", compression.sent_ratio),
                ("received", compression.received_ratio),
            ):
                if value is not None:
                    ratio.add_metric([link.name, direction], value)
    yield details
    yield phase
    yield network
    yield from families.values()
    yield from (discarded, uptime, rtt, rtt_average, pending, ratio)
