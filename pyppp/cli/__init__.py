"""Command line: ``pyppp serve|dial|share|status|chat|demo|selftest``.

Each subcommand lives in its own module, which provides ``add_arguments(parser)`` and
``run(args) -> int`` (the process exit status, pppd's where pppd has one). Only the module of
the subcommand being run is imported, so ``pyppp chat`` does not pay for pytun or pyserial.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

__all__ = ["main"]

# (name, module, one-line help)
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("serve", "pyppp.cli.pppd", "answer calls on a serial line (pppd's silent server)"),
    ("dial", "pyppp.cli.pppd", "call a PPP server over a serial line"),
    ("stop", "pyppp.cli.stop", "end a running link by its pid file, as poff does"),
    ("share", "pyppp.cli.share", "share a serial modem over TCP (raw or RFC 2217)"),
    ("status", "pyppp.cli.status", "show every running link: state, counters, rates"),
    ("chat", "pyppp.cli.chat", "run a chat(8) script on standard input and output"),
    ("demo", "pyppp.cli.demo", "two linked PPP stacks on a virtual null-modem cable"),
    ("selftest", "pyppp.cli.selftest", "frame and deframe, check the FCS, print the figures"),
)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Return the top-level parser; only ``command``'s module is imported for its arguments."""
    from pyppp import __version__

    parser = argparse.ArgumentParser(
        prog="pyppp", description="PPP in userspace: pppd's job without kernel PPP support."
    )
    parser.add_argument("--version", action="version", version=f"pyppp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name, help_text in COMMANDS:
        subparser = sub.add_parser(name, help=help_text, description=help_text)
        subparser.set_defaults(_module=module_name)
        if name == command:
            module = importlib.import_module(module_name)
            add_arguments = getattr(module, f"add_{name}_arguments", None) or module.add_arguments
            add_arguments(subparser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit status."""
    words = list(sys.argv[1:] if argv is None else argv)
    names = {name for name, _, _ in COMMANDS}
    command = next((word for word in words if not word.startswith("-")), None)
    parser = build_parser(command if command in names else None)
    args, extra = parser.parse_known_args(words)
    args.extra = extra
    module = importlib.import_module(args._module)
    run = getattr(module, f"run_{args.command}", None) or module.run
    try:
        status: int = run(args)
    except BrokenPipeError:
        # `pyppp dial ... dump dryrun | head`: the reader left; that is not an error of ours.
        # Point stdout at /dev/null so the interpreter's final flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return status


if __name__ == "__main__":
    sys.exit(main())
