"""`genvfx farm` writes an Open Job Description job; `genvfx farm-complete` is its last step."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..farm.tasks import JOB_FILE
from ..job import GenerationJob, field_specs
from .generate import add_job_flags, build_job
from .script_flags import add_path_mapping_flag, mapped_path

SCRIPT_SUFFIXES = (".nk", ".gizmo")


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "farm",
        help="write an Open Job Description job that generates a take in frame windows",
        description="Check a job (a saved job JSON, or a Nuke script with --node), reserve "
        "its take folder (job.json and a not-complete manifest inside) and write an Open "
        "Job Description template: one task per chunk of about --chunk frames, cut at "
        "generation windows, each running `genvfx generate --take-dir` (in order where "
        "each window continues the one before), then a step running `genvfx farm-complete`. Run it "
        "locally with `openjd run` or submit it to Deadline Cloud.",
    )
    parser.add_argument("source", type=Path, metavar="SCRIPT_OR_JOB")
    parser.add_argument(
        "--chunk",
        type=int,
        required=True,
        help="frames per task at most (whole windows, at least one)",
    )
    parser.add_argument(
        "--out", dest="template_out", type=Path, required=True, metavar="TEMPLATE.yaml"
    )
    parser.add_argument("--node", help="with a script: the Read to take the plate from")
    parser.add_argument(
        "--genvfx",
        help="the command workers run genvfx with (default: this machine's genvfx)",
    )
    parser.add_argument(
        "--script-colour",
        metavar="JSON",
        help="a Nuke Root's colour knobs as a JSON object (colorManagement, OCIO_config, "
        "customOCIOConfigPath, workingSpaceLUT), as the node sends them: the job gets the "
        "script's OCIO config and working space, unless --ocio-config or --working-space "
        "is given",
    )
    add_job_flags(parser, renamed={"output_root": "--output-root"})
    parser.set_defaults(run=run)

    done = sub.add_parser(
        "farm-complete",
        help="mark a farm take complete once every frame exists",
        description="Check that every frame of a take reserved by `genvfx farm` exists, then "
        "mark its manifest complete. Fails (exit 1), naming the missing frames, otherwise.",
    )
    done.add_argument("take_dir", type=Path, metavar="TAKE_DIR")
    add_path_mapping_flag(done)
    done.set_defaults(run=run_complete)


def run(args: argparse.Namespace) -> int:
    from ..errors import InvalidField
    from ..farm.tasks import default_command, in_order, reserve
    from ..farm.template import (
        check_template_inputs,
        make_bundle_folder,
        remove_empty,
        template,
        validate,
        write_bundle,
    )
    from ..take.record import TakeRecord

    source: Path = args.source
    if not source.is_file():
        raise InvalidField("source", str(source), "an existing .nk script or job JSON file")
    is_script = source.suffix.lower() in SCRIPT_SUFFIXES
    args.script, args.job = (source, None) if is_script else (None, source)
    args.insert = False
    if args.script_colour is not None:
        _apply_script_colour(args)
    job = build_job(args)
    genvfx = args.genvfx or default_command()
    check_template_inputs(job, args.chunk, genvfx)
    created = make_bundle_folder(args.template_out)
    try:
        take, gpu_memory = reserve(job, args.chunk)
    except BaseException:
        remove_empty(created)
        raise
    job = GenerationJob.from_json((take.folder / JOB_FILE).read_text(encoding="utf-8"))
    record = TakeRecord.read(take.folder)
    document = template(job, take, record.chunks, in_order(record, job), genvfx, gpu_memory)
    validate(document)
    write_bundle(document, args.template_out, job, take)
    print(f"genvfx: reserved {take.folder}", file=sys.stderr)
    print(args.template_out)
    return 0


def _apply_script_colour(args: argparse.Namespace) -> None:
    """Read `--script-colour` as the worker reads a host's `script_colour`, into the flags
    of the fields it sets that were not given."""
    from ..errors import InvalidField
    from ..scripts.colour import check_root_knobs, colour_fields, root_colour

    try:
        knobs = json.loads(args.script_colour)
    except ValueError as exc:
        raise InvalidField("script_colour", args.script_colour, f"a JSON object ({exc})") from None
    specs = field_specs()
    for name, value in colour_fields(root_colour(check_root_knobs(knobs))).items():
        if getattr(args, name, None) is None:
            setattr(args, name, specs[name].cli_type(value))


def run_complete(args: argparse.Namespace) -> int:
    from ..farm.tasks import complete

    complete(mapped_path(args, args.take_dir))
    print(args.take_dir)
    return 0
