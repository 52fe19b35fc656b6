"""IPv6 Control Protocol (RFC 5072): option codecs and the Interface-Identifier negotiator."""

from __future__ import annotations
