"""Modem sharing's pure parts: telnet filter, access rules, configuration, session policy."""

from __future__ import annotations
