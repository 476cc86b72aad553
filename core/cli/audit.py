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
        help="list generated elements a script holds",
        description="List every generated element of the script, in script order: "
        "GenerateElement nodes (inside groups and gizmos too), Reads whose frames carry "
        "genvfx provenance, and Reads of genvfx takes, with the take's state (complete, "
        "incomplete, gone, unreachable, frames changed since it was made).",
        epilog=f"Exit codes: 0 checked, {FOUND_EXIT} generated elements found with "
        "--fail-if-any, 2 invalid input, 1 failure.",
    )
    parser.add_argument("script", type=Path, metavar="SCRIPT.nk")
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    parser.add_argument(
        "--html",
        type=Path,
        metavar="REPORT.html",
        help="also write a self-contained review page with thumbnails",
    )
    parser.add_argument(
        "--fail-if-any",
        action="store_true",
        help=f"exit {FOUND_EXIT} when any generated element is found",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..scripts.audit import audit_script

    audit = audit_script(args.script)
    if args.html is not None:
        from ..scripts.review import write_review

        write_review(audit, args.html)
    if args.json:
        print(json.dumps(audit.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(
            f"{audit.script}: {len(audit.generated)} generated element(s) "
            f"in {audit.reads_checked} Read(s) and the script's nodes"
        )
        for g in audit.generated:
            frames = f" {g.first}-{g.last}" if g.first is not None else ""
            counted = f" ({g.frames_found}/{g.frames_expected} found)" if g.frames_expected else ""
            print(
                f"  {g.node} [{g.node_class}]: {g.path}{frames}{counted}\n"
                f"    take {g.take or '-'} ({g.take_status})  {g.take_folder}\n"
                f"    model {g.model}  weights {g.weights_hash[:16]}  seed {g.seed}\n"
                f"    prompt {g.prompt!r}"
            )
            for problem in g.problems:
                print(f"    PROBLEM: {problem}")
        for name in audit.unresolved:
            print(f"  {name}: file holds a TCL expression; not checked")
    return FOUND_EXIT if args.fail_if_any and audit.generated else 0
