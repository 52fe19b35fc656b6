"""Command line: ``pyppp serve|dial|share|chat|demo|selftest``.

Each subcommand lives in its own module, which provides ``add_arguments(parser)`` and
``run(args) -> int`` (the process exit status, pppd's where pppd has one). Modules are imported
only when their subcommand runs, so ``pyppp chat`` does not pay for pytun or asyncio start-up.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

__all__ = ["main"]

# (name, module, one-line help)
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("serve", "pyppp.aio.commands", "answer calls on a serial line (pppd's silent server)"),
    ("dial", "pyppp.aio.commands", "call a PPP server over a serial line"),
    ("share", "pyppp.share", "share a serial modem over TCP (raw or RFC 2217)"),
    ("chat", "pyppp.aio.chat", "run a chat(8) script on standard input and output"),
    ("demo", "pyppp.demo", "two linked PPP stacks on a virtual null-modem cable"),
    ("selftest", "pyppp.selftest", "frame and deframe, check the FCS, print the figures"),
)


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with one sub-parser per command."""
    parser = argparse.ArgumentParser(prog="pyppp", description=__doc__.splitlines()[0])
    from pyppp import __version__

    parser.add_argument("--version", action="version", version=f"pyppp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name, help_text in COMMANDS:
        command = sub.add_parser(name, help=help_text, description=help_text)
        command.set_defaults(_module=module_name)
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        add_arguments = getattr(module, f"add_{name}_arguments", None) or module.add_arguments
        add_arguments(command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit status."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    args.extra = extra
    module = importlib.import_module(args._module)
    run = getattr(module, f"run_{args.command}", None) or module.run
    status: int = run(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
