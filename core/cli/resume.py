"""`genvfx resume TAKE_DIR`: finish a take whose run ended early, with the pixels it would have."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..errors import GenvfxError
from ..job import GenerationJob
from ..take.record import TakeRecord


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "resume",
        help="finish an interrupted, failed or cancelled take",
        description="Finish a take (local or farm) whose run ended before it was complete: "
        "refuses a take whose job or model weights changed, deletes the partial files the run "
        "left, generates only the windows of the missing frames with their recorded seeds, and "
        "marks the take complete. The frames equal those of an uninterrupted run.",
        epilog="Exit codes: 0 complete, 1 runtime failure, 2 invalid input, 130 cancelled.",
    )
    parser.add_argument("take_dir", type=Path, metavar="TAKE_DIR", help="<root>/<name>/vNNN")
    parser.add_argument(
        "--json", action="store_true", help="print machine-readable events (JSON lines) on stdout"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..pipeline.resume import resume
    from .generate import reported

    several = several_gpus_job(args.take_dir)
    if several is not None:
        from .ranks import run_resume_rank

        code = run_resume_rank(args.take_dir, several, args)
        if code is not None:
            return code
    reported(args.json, lambda report, cancel: resume(args.take_dir, report, cancel))
    return 0


def several_gpus_job(folder: Path) -> GenerationJob | None:
    """The take's job when it was made on several GPUs (resumed on as many), else None.

    A record that cannot be read is left to `resume`, which says why.
    """
    try:
        job = GenerationJob.from_dict(TakeRecord.read(folder.absolute()).job)
    except GenvfxError:
        return None
    return job if job.gpus > 1 else None
