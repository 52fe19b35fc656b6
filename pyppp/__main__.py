"""Run pyppp as ``python -m pyppp``."""

from __future__ import annotations

import sys

from pyppp.cli import main

sys.exit(main())
