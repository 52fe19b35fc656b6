"""Authentication: PAP (RFC 1334) and CHAP with MD5 (RFC 1994), MS-CHAP (RFC 2433), MS-CHAPv2."""

from __future__ import annotations
