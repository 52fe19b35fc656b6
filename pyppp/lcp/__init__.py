"""Link Control Protocol (RFC 1661): options and negotiation policy."""

from __future__ import annotations
