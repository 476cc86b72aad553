"""`genvfx takes FOLDER`: every take under a folder with its status, frames and prompt."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..errors import InvalidField


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "takes",
        help="list the takes under a folder with their status",
        description="List every take under FOLDER (an output root, an element's folder or "
        "one take folder): version, status (queued, running, interrupted, complete, failed, "
        "cancelled), frames on disk, seed and prompt. A take whose process has ended "
        "before it finished reads as interrupted: finish it with `genvfx resume`.",
    )
    parser.add_argument("folder", type=Path, metavar="FOLDER")
    parser.add_argument("--json", action="store_true", help="print the takes as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..take.listing import list_takes

    if not args.folder.is_dir():
        raise InvalidField("folder", str(args.folder), "an existing folder")
    takes = list_takes(args.folder)
    if args.json:
        print(json.dumps([t.to_dict() for t in takes], indent=2, ensure_ascii=False))
        return 0
    for t in takes:
        print(
            f"{t.folder}  {t.status}  {t.first}-{t.last} "
            f"({t.frames_found}/{t.frames_expected} frames)  seed {t.seed}  {t.prompt[:60]!r}"
            + (f"\n    {t.message}" if t.message else "")
        )
    if not takes:
        print(f"no takes under {args.folder}")
    return 0
