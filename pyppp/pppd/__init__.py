"""pppd compatibility: option words and files, secrets, locks, chat and the Windows handshake.

Pure like the core: files are read through an injected reader, nothing here does other I/O.
"""

from __future__ import annotations
