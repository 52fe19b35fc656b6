"""IPv6 Control Protocol (RFC 5072): option codecs (pyppp rejects IPv6CP; the trace names it)."""

from __future__ import annotations
