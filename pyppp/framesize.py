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
while it sends on a line that shows trouble, the link sends an LCP Echo-Request of the current
send size once a second (RFC 1661 §5.8: the peer, pppd included, echoes the data back), and the
replies put frames of that size on the way back to us. Trouble is a damaged frame received, a
send size below the negotiated one, or TCP retransmitting what we sent (:class:`TcpResends`,
which reads the sequence numbers of the segments we send: a sender that only gets ACKs sees its
own segments lost that way first), and the link's first :data:`FIRST_PROBES` look in any
case. On a line that shows none the probes are rare (:data:`PROBE_SHARE`): at 115200 baud
every probe and its reply cost the bulk direction 3 kB, and a clean line has nothing to find.

The shell applies each change to the interface (the kernel's TCP then segments for the new
MTU); the link reports it as :class:`~pyppp.events.MtuChanged` and logs it. pppd's word
``noadaptive-mtu`` turns it off.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Final

from pyppp.events import MtuChanged
from pyppp.hdlc import LINE_ERRORS, Deframer

__all__ = [
    "ACTIVE",
    "FIRST_PROBES",
    "MARGIN",
    "MIN_LOST",
    "PROBE_INTERVAL",
    "PROBE_SHARE",
    "RESEND_ALERT",
    "RESEND_RUN",
    "SIZES",
    "WINDOW",
    "FrameSizer",
    "TcpResends",
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
PROBE_SHARE: Final = 0.002
"""The most the probes may add to what we send while the line shows no trouble: a probe waits
for 500 times its size (a 1500-octet probe every 65 s of a busy 115200-baud line). It is for a
sender that hears nothing back (UDP); a TCP sender's resends show a bad line first."""
RESEND_RUN: Final = 2
"""TCP resends, each within :data:`RESEND_ALERT` seconds of the last, that count as trouble.
One alone is not: on a clean line Linux's tail-loss probe resends a transfer's last segment."""
RESEND_ALERT: Final = 10.0
"""Seconds the probes go on once a second after the last sign of trouble from TCP."""
ACTIVE: Final = 10.0
"""Seconds after the last IP datagram (either way) until which probes may go out."""
FIRST_PROBES: Final = 1
"""Probes sent as soon as the network protocols are up, whatever the budget and before any
datagram: each end's first probe and its reply show a noisy line to both ends before a
transfer is under way (at 1e-4 a 1500-octet frame is damaged 7 times in 10), at 3 kB of line
each way on a clean one."""
_FLOWS: Final = 64
"""TCP connections :class:`TcpResends` follows at once (it forgets the oldest beyond)."""
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
        self._datagrams = 0
        self._ip_at = -ACTIVE - 1.0  # when IP last went either way
        self._probes = 0
        self._probe_octets = 0
        self.resends = TcpResends()
        """What TCP resends of the datagrams we send (the owner shows it each one)."""
        self._resends_seen = 0
        self._resend_at = -RESEND_ALERT  # when the last resend was seen
        self._resend_run = 0
        self._alert_until = -1.0  # probes once a second until then

    @property
    def lossy(self) -> bool:
        """Whether the line damaged a frame lately (or the send size is down for it).

        Always ``False`` when not :attr:`enabled` (``noadaptive-mtu``: pppd's behaviour).
        """
        return self.enabled and (self._lost >= 0.5 or self.current < self.ceiling)

    def reset(self, ceiling: int) -> None:
        """LCP (re)opened with ``ceiling`` as the negotiated size: start from it again."""
        self.ceiling = ceiling
        self.current = ceiling
        self.resends = TcpResends()
        self._resends_seen = 0
        self._resend_run = 0
        self._alert_until = -1.0
        self._probes = 0

    def probe(self, datagrams: int, octets_sent: int, now: float) -> int | None:
        """The size of an LCP Echo-Request probe to send now, if one is due.

        The damage we can count is on what we *receive*, and a TCP sender receives little
        (acknowledgements, fewer still when the line is bad). So while we send on a line that
        shows trouble (a damaged frame received lately, a send size below the negotiated one,
        or :data:`RESEND_RUN` TCP resends in a row, the last less than :data:`RESEND_ALERT`
        seconds ago), a probe of the current send size goes out every
        :data:`PROBE_INTERVAL` seconds (after TCP resends, even while nothing else goes out:
        TCP's timer doubles with every loss); its Echo-Reply comes back as large. The link's
        :data:`FIRST_PROBES` go out once the network is up, before any datagram. Otherwise a
        probe waits until we sent :data:`PROBE_SHARE` times its size since the last one.

        Args:
            datagrams: the link's running count of IP datagrams sent and received (probes go
                out only until :data:`ACTIVE` seconds after it last changed, or while TCP
                resends: an idle link, its keepalives included, sends none). The receiving end
                of a transfer probes too once it sees damage: its probes come to the sender as
                large as the data, the sender's best look at the line while its own segments
                are lost.
            octets_sent: the link's running count of octets sent (probes included).
            now: the caller's clock.
        """
        if not self.enabled:
            return None
        resends = self.resends.count
        if resends != self._resends_seen:
            new = resends - self._resends_seen
            self._resends_seen = resends
            recent = now - self._resend_at <= RESEND_ALERT
            self._resend_run = self._resend_run + new if recent else new
            self._resend_at = now
            if self._resend_run >= RESEND_RUN:
                self._alert_until = now + RESEND_ALERT
        if datagrams != self._datagrams:
            self._datagrams = datagrams
            self._ip_at = now
        if now < self._probe_at:
            return None
        # Not only right after a datagram: on a bad line TCP's resends thin out (its timer
        # doubles with every loss) and the other end hears next to nothing.
        alert = now < self._alert_until
        first = self._probes < FIRST_PROBES
        if not (alert or first) and now - self._ip_at > ACTIVE:
            return None
        clean = not alert and self._lost < 0.5 and self.current == self.ceiling
        if clean and not first and octets_sent - self._probe_octets < self.current / PROBE_SHARE:
            # Nothing wrong lately: the probes only watch, within their budget. Once TCP
            # resends or a frame is damaged (the ACKs' small frames show a bad line too) or
            # the size is down, they measure once a second: the line's rate is at stake then.
            return None
        self._probe_at = now + PROBE_INTERVAL
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


class TcpResends:
    """Counts the TCP segments we send again: the sign of a line that loses frames.

    Shown each IP datagram we send (:meth:`look`), it keeps, for each of the last
    :data:`_FLOWS` TCP connections (addresses and ports), the highest sequence number sent;
    a segment carrying data that ends at or below it was sent before (RFC 9293's sequence
    space, modulo 2**32). Fragments, IPv6 extension headers and pure ACKs are passed over.
    Only the headers are read, and only while the adaptive send size runs.
    """

    def __init__(self) -> None:
        self.count = 0
        """Resent segments seen so far."""
        self._flows: dict[bytes, int] = {}

    def look(self, datagram: bytes) -> None:
        """One IP datagram we send (IPv4 or IPv6, from its first octet)."""
        if len(datagram) < 40:
            return
        version = datagram[0] >> 4
        if version == 4:
            header = (datagram[0] & 0x0F) * 4
            # TCP, and not a fragment (More-Fragments or an offset).
            if header < 20 or datagram[9] != 6 or datagram[6] & 0x3F or datagram[7]:
                return
            end = int.from_bytes(datagram[2:4], "big")
            flow = datagram[12:20]
        elif version == 6:
            header = 40
            if datagram[6] != 6:
                return
            end = 40 + int.from_bytes(datagram[4:6], "big")
            flow = datagram[8:40]
        else:
            return
        tcp = datagram[header : header + 20]
        if len(tcp) < 20:
            return
        payload = min(end, len(datagram)) - header - (tcp[12] >> 4) * 4
        if payload <= 0:
            return  # an ACK, a SYN or a FIN alone: nothing the line lost is told by it
        key = flow + tcp[:4]
        last = (int.from_bytes(tcp[4:8], "big") + payload) & 0xFFFFFFFF
        flows = self._flows
        highest = flows.get(key)
        if highest is not None and not 0 < (last - highest) & 0xFFFFFFFF < 0x80000000:
            self.count += 1  # ends at or before what was sent already
            return
        if highest is None and len(flows) >= _FLOWS:
            del flows[next(iter(flows))]  # the oldest connection
        flows[key] = last

    def look_many(self, datagrams: Sequence[bytes]) -> None:
        """:meth:`look` at each of a burst."""
        look = self.look
        for datagram in datagrams:
            look(datagram)
