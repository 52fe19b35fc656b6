"""pyppp: PPP in userspace, a pure-Python replacement for pppd."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
