"""Adaptive frame size on noisy lines (a pyppp extension; pppd has nothing like it).

On a line with bit errors a frame survives with probability ``(1 - q) ** octets`` (``q`` the
chance that a line octet is damaged), so big frames are lost far more often than small ones:
at a bit error rate of 1e-4 a 1500-octet frame gets through about 30 % of the time, and TCP
over it nearly stops, while 296-octet frames get through about 78 % of the time. pyppp can see
the error rate without asking the peer: every frame that arrives damaged is counted by the
framer (bad FCS, aborted, too short, too long), next to the line octets and good frames.

:class:`FrameSizer` turns those counters into the send size (the largest IP datagram we send,
the interface MTU) that maximises goodput, without renegotiating LCP: it only ever chooses a
size at or below the negotiated one (the peer's MRU, capped by ``mtu``), so the peer receives
nothing it did not agree to. The model:

* the loss rate of received frames, ``lost / frames``, over a window that halves every
  :data:`WINDOW` line octets (the line may clean up, or get worse), with the mean received frame
  size ``octets / frames`` gives the per-octet damage rate ``q = 1 - (1 - loss) ** (1 / mean)``
  (exact for frames of one size, whatever number of errors each has); the line is assumed to be
  as noisy both ways, as a serial line is;
* a datagram of ``n`` octets costs ``n + 8`` line octets (flags, header, FCS, a few escapes) and
  carries ``n - 40`` octets of TCP payload; goodput per line octet is
  ``(n - 40) / (n + 8) * (1 - q) ** (n + 8)``;
* the candidates are :data:`SIZES` (and the negotiated size itself); the best one is taken when
  it beats the current one by :data:`MARGIN` (hysteresis, so the size does not flap), and only
  with :data:`MIN_LOST` damaged frames in the window before going down.

What we receive is what is counted; a TCP sender receives only small acknowledgements, so
while it sends, the link sends an LCP Echo-Request of the current send size once a second
(RFC 1661 §5.8: the peer, pppd included, echoes the data back), and the replies put frames of
that size on the way back to us.

The shell applies each change to the interface (the kernel's TCP then segments for the new
MTU); the link reports it as :class:`~pyppp.events.MtuChanged` and logs it. pppd's word
``noadaptive-mtu`` turns it off.
"""

from __future__ import annotations

import logging
from typing import Final

from pyppp.events import MtuChanged
from pyppp.hdlc import LINE_ERRORS, Deframer

__all__ = [
    "FIRST_PROBES",
    "MARGIN",
    "MIN_LOST",
    "PROBE_INTERVAL",
    "PROBE_SHARE",
    "SIZES",
    "WINDOW",
    "FrameSizer",
    "goodput",
]

SIZES: Final = (1500, 1280, 1006, 576, 296, 128)
"""The send sizes tried below the negotiated one (pppd's minimum MRU, 128, is the floor)."""
WINDOW: Final = 65536
"""Line octets after which the counts are halved: recent errors weigh more."""
MARGIN: Final = 1.05
"""A size must promise this much more goodput than the current one to replace it."""
MIN_LOST: Final = 3.0
"""Damaged frames (halved with the window) needed before the size goes down."""
PROBE_INTERVAL: Final = 1.0
"""Seconds between two Echo-Request probes while we send (see :meth:`FrameSizer.probe`)."""
PROBE_SHARE: Final = 0.01
"""The most the probes may add to what we send: on a slow line (115200 baud moves 11.5 kB/s)
a probe a second would take a seventh of it; a probe waits for a hundred times its size,
except the first :data:`FIRST_PROBES` of a link, which find out whether it is noisy at all."""
FIRST_PROBES: Final = 8
"""Probes sent once a second, whatever the budget, when a link starts carrying IP."""
_CHECK_EVERY: Final = 2048
"""Line octets between two estimates (the framer's counters are cheap to read, not free)."""
_FRAMING: Final = 8
_TCP_IP_HEADERS: Final = 40


def goodput(size: int, damage: float) -> float:
    """TCP payload octets per line octet for datagrams of ``size`` octets.

    Args:
        size: the datagram size (the MTU sent with).
        damage: the chance that one line octet is damaged.
    """
    line = size + _FRAMING
    return max(size - _TCP_IP_HEADERS, 0) / line * (1.0 - damage) ** line


class FrameSizer:
    """Chooses the send size from what the framer counted (see the module docstring).

    Args:
        ceiling: the negotiated send size (never exceeded).
        logger: where each change is logged (at info level).
        enabled: ``False``: :attr:`current` stays the ceiling and :meth:`due` is never true
            (pppd's ``noadaptive-mtu``).
    """

    def __init__(
        self, ceiling: int, logger: logging.Logger | None = None, *, enabled: bool = True
    ) -> None:
        self.logger = logger or logging.getLogger("pyppp")
        self.enabled = enabled
        self.ceiling = ceiling
        self.current = ceiling
        """The send size chosen now."""
        self.damage = 0.0
        """The last estimate of the per-octet damage rate."""
        self._octets = 0.0
        self._frames = 0.0
        self._lost = 0.0
        self._seen = (0, 0, 0)  # the framer's counters at the last look
        self._probe_at = 0.0
        self._probe_sent = 0
        self._probe_octets = 0
        self._probes = 0

    def reset(self, ceiling: int) -> None:
        """LCP (re)opened with ``ceiling`` as the negotiated size: start from it again."""
        self.ceiling = ceiling
        self.current = ceiling
        self._probes = 0

    def probe(self, now: float, datagrams_sent: int, octets_sent: int) -> int | None:
        """The size of an LCP Echo-Request probe to send now, if one is due.

        The damage we can count is on what we *receive*, and a TCP sender receives little
        (acknowledgements, fewer still when the line is bad). So while we send, at most one
        probe of the current send size goes out every :data:`PROBE_INTERVAL` seconds, and
        while the line looks clean only once we sent a hundred times its size since the last
        (:data:`PROBE_SHARE`), after the link's :data:`FIRST_PROBES`; its Echo-Reply comes
        back as large. On a clean line that costs
        at most 1 % of what we send (a probe a second would take a seventh of 115200 baud).

        Args:
            now: the caller's clock.
            datagrams_sent: the link's running count of IP datagrams sent (probes go out only
                while IP does: an idle link, its keepalives included, sends none).
            octets_sent: the link's running count of octets sent (probes included).
        """
        if not self.enabled or now < self._probe_at or datagrams_sent == self._probe_sent:
            return None
        clean = self._lost < 0.5 and self.current == self.ceiling
        if (
            clean
            and self._probes >= FIRST_PROBES
            and octets_sent - self._probe_octets < self.current / PROBE_SHARE
        ):
            # Nothing damaged lately: the probes only watch, within their budget. Once a
            # frame is damaged (the ACKs' small frames show a bad line first) or the size is
            # down, they measure once a second: the line's rate is what is at stake then.
            return None
        self._probe_at = now + PROBE_INTERVAL
        self._probe_sent = datagrams_sent
        self._probe_octets = octets_sent
        self._probes += 1
        return self.current

    def due(self, deframer: Deframer) -> bool:
        """Whether the framer has taken enough line octets since the last look (if enabled)."""
        return self.enabled and deframer.received - self._seen[0] >= _CHECK_EVERY

    def poll(self, deframer: Deframer) -> list[MtuChanged]:
        """Read the framer's counters (:meth:`update`); log a change and return it as an event."""
        before = self.current
        lost = sum(deframer.discarded[reason] for reason in LINE_ERRORS)
        mtu = self.update(deframer.received, deframer.frames, lost)
        if mtu is None:
            return []
        self.logger.info(
            "Line errors: about %.0f damaged octets per million; sending at most %d octets "
            "(was %d)",
            self.damage * 1e6,
            mtu,
            before,
        )
        return [MtuChanged(mtu, self.damage)]

    def update(self, octets: int, frames: int, lost: int) -> int | None:
        """Take the framer's running totals; return the new send size if it changed.

        Args:
            octets: line octets the framer has taken.
            frames: good frames it has delivered.
            lost: damaged frames it has discarded.
        """
        seen_octets, seen_frames, seen_lost = self._seen
        self._seen = (octets, frames, lost)
        new_lost = lost - seen_lost
        self._octets += octets - seen_octets
        self._frames += frames - seen_frames + new_lost
        self._lost += new_lost
        while self._octets > WINDOW:
            self._octets /= 2
            self._frames /= 2
            self._lost /= 2
        if self._frames < 1.0:
            return None
        loss = min(self._lost / self._frames, 0.999)
        mean = max(self._octets / self._frames, 1.0)
        self.damage = 1.0 - (1.0 - loss) ** (1.0 / mean)
        candidates = [self.ceiling, *(s for s in SIZES if s < self.ceiling)]
        best = max(candidates, key=lambda size: goodput(size, self.damage))
        if best == self.current:
            return None
        if best < self.current and self._lost < MIN_LOST:
            return None
        if goodput(best, self.damage) < goodput(self.current, self.damage) * MARGIN:
            return None
        self.current = best
        return best
