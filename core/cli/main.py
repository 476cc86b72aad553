"""`genvfx` command line: one parser, one place where errors become exit codes.

Exit codes: 0 done, 1 runtime failure, 2 invalid input, 130 cancelled.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import GenvfxError
from .commands import COMMANDS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="genvfx",
        description="Generate video elements with local video-diffusion models as "
        "scene-linear EXR takes with alpha and provenance.",
        epilog="Exit codes: 0 done, 1 runtime failure, 2 invalid input, 130 cancelled.",
    )
    parser.add_argument("--version", action="version", version=f"genvfx {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(argv) if argv is not None else sys.argv[1:]
    try:
        return int(args.run(args))
    except GenvfxError as exc:
        print(f"genvfx: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("genvfx: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
