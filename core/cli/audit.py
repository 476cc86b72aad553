"""`genvfx audit`: list every generated element a script reads, for delivery checks."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

FOUND_EXIT = 3
"""Exit code of `--fail-if-any` when the script reads generated frames."""


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "audit",
        help="list generated elements a script reads",
        description="List every Read in the script (inside groups too) whose frames carry "
        "genvfx provenance: node, path, frame range, model, weights hash, prompt, seed, "
        "take, and whether all frames exist.",
        epilog=f"Exit codes: 0 checked, {FOUND_EXIT} generated elements found with "
        "--fail-if-any, 2 invalid input, 1 failure.",
    )
    parser.add_argument("script", type=Path, metavar="SCRIPT.nk")
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    parser.add_argument(
        "--fail-if-any",
        action="store_true",
        help=f"exit {FOUND_EXIT} when any generated element is found",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..scripts.audit import audit_script

    audit = audit_script(args.script)
    if args.json:
        print(json.dumps(audit.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(
            f"{audit.script}: {len(audit.generated)} generated element(s) "
            f"in {audit.reads_checked} Read(s)"
        )
        for g in audit.generated:
            state = "all frames" if g.all_frames_exist else "MISSING FRAMES"
            print(
                f"  {g.node}: {g.path} {g.first}-{g.last} ({g.frames_found}/"
                f"{g.frames_expected} found, {state})\n"
                f"    take {g.take}  model {g.model}  weights {g.weights_hash[:16]}  "
                f"seed {g.seed}\n    prompt {g.prompt!r}"
            )
        for name in audit.unresolved:
            print(f"  {name}: file holds a TCL expression; not checked")
    return FOUND_EXIT if args.fail_if_any and audit.generated else 0
