"""Authentication protocols (PAP, CHAP) and pppd's secrets files."""

from __future__ import annotations
