"""IP Control Protocol (RFC 1332) with the DNS extension (RFC 1877)."""

from __future__ import annotations
