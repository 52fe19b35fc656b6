"""The asyncio shell: the only code that touches ports, TUN, clocks, processes and PAM."""

from __future__ import annotations
