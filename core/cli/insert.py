"""`genvfx insert`: add a take's Read and a Merge2 (take over plate) to an existing script."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..errors import InvalidField


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "insert",
        help="insert a take into a Nuke script",
        description="Add a Read of TAKE_DIR and a Merge2 (take over the node) after --node, "
        "rewiring what used the node to use the merge. Only lines are added; the rest of "
        "the script stays byte for byte. Writes --out (never over an existing file) or, "
        "with --in-place, replaces the script after keeping a numbered backup.",
    )
    parser.add_argument("script", type=Path, metavar="SCRIPT.nk")
    parser.add_argument("--node", required=True, help="the node to merge over (e.g. Read1)")
    parser.add_argument("--take", required=True, type=Path, metavar="TAKE_DIR")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--out", type=Path, metavar="NEW.nk", help="write a new script")
    target.add_argument(
        "--in-place", action="store_true", help="replace SCRIPT.nk, keeping a backup beside it"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    written = insert_into(args.script, args.node, args.take, args.out, args.in_place)
    print(written)
    return 0


def insert_into(script: Path, node: str, take: Path, out: Path | None, in_place: bool) -> Path:
    """Insert and write; returns the script written. Nothing is written on a refused input."""
    from ..scripts.element_warnings import insert_warnings
    from ..scripts.insert import insert_take, replace_with_backup, write_new

    if out is not None and out.exists():
        raise InvalidField("out", str(out), "a file that does not exist yet")
    parsed, inserted = insert_take(script, node, take)
    if in_place:
        backup = replace_with_backup(script, inserted.data)
        print(f"genvfx: kept the original as {backup}", file=sys.stderr)
        written = script
    else:
        assert out is not None
        write_new(out, inserted.data)
        written = out
    print(
        f"genvfx: added {inserted.source_name} and {inserted.merge_name} after {node}",
        file=sys.stderr,
    )
    for warning in insert_warnings(take, parsed.find(node)):
        print(f"genvfx: warning: {warning}", file=sys.stderr)
    return written
