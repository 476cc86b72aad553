"""The `generate` flags that tie a run to a Nuke script or a reserved farm take.

`--script S --node Read1` fills job fields from the script (flags still win), `--insert`
puts the finished take back into the script (in place, keeping a backup), and
`--take-dir` writes one window of frames into a take reserved by `genvfx farm`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..errors import InvalidField
from ..events import Done
from ..job import GenerationJob
from ..job.pathmap import PathMapping
from ..take.folder import Take


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--script",
        type=Path,
        metavar="SCRIPT.nk",
        help="take plate, frame range, format and colour settings from a Nuke script",
    )
    parser.add_argument("--node", help="with --script: the Read to take them from")
    parser.add_argument(
        "--insert",
        action="store_true",
        help="with --script: insert the take over --node (in place, keeping a backup)",
    )
    parser.add_argument(
        "--take-dir",
        type=Path,
        metavar="TAKE_DIR",
        help="write these frames into a take reserved by `genvfx farm` (its manifest is "
        "completed by `genvfx farm-complete`)",
    )
    add_path_mapping_flag(parser)


def add_path_mapping_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--path-mapping-rules",
        type=Path,
        metavar="RULES.json",
        help="map the job's paths (and --take-dir) to where this machine sees them: an Open "
        "Job Description path mapping rules file, e.g. {{Session.PathMappingRulesFile}}",
    )


def path_mapping(args: argparse.Namespace) -> PathMapping | None:
    rules = getattr(args, "path_mapping_rules", None)
    return None if rules is None else PathMapping.load(rules)


def mapped_path(args: argparse.Namespace, path: Path) -> Path:
    """`path` as this machine sees it, under the --path-mapping-rules given."""
    paths = path_mapping(args)
    return Path(paths.map(str(Path(path).absolute()))) if paths else path


def job_fields(args: argparse.Namespace, data: dict[str, Any]) -> dict[str, Any]:
    script = getattr(args, "script", None)
    node = getattr(args, "node", None)
    if script is None:
        if node is not None or getattr(args, "insert", False):
            raise InvalidField("script", None, "a Nuke script when --node or --insert is given")
        return {}
    if not node:
        raise InvalidField("node", node, "the Read to take the plate from, with --script")
    from ..scripts.script_job import script_job_fields

    return script_job_fields(script, node, getattr(args, "mode", None) or data.get("mode"))


def take(args: argparse.Namespace, job: GenerationJob) -> Take | None:
    folder = getattr(args, "take_dir", None)
    if folder is None:
        return None
    if getattr(args, "insert", False):
        raise InvalidField("insert", True, "nothing with --take-dir (insert the completed take)")
    from ..farm.tasks import window_take

    return window_take(mapped_path(args, folder), job)


def after(args: argparse.Namespace, done: Done) -> None:
    if getattr(args, "insert", False):
        from .insert import insert_into

        insert_into(args.script, args.node, Path(done.take_dir), None, in_place=True)
