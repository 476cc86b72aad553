"""Farm takes: one take, generated chunk by chunk by independent tasks, then completed.

`reserve` checks the whole job and reserves its take folder before anything is queued,
writing the job (`job.json`) and a `queued` take record whose windows (and their seeds)
are planned chunk by chunk. Each task then runs one chunk into that folder
(`generate --take-dir`): frames already on disk are kept and every frame appears
atomically, stamped with the record's provenance. `complete` marks the record complete
once every frame exists.
"""

from __future__ import annotations

import dataclasses
import shlex
from pathlib import Path

from ..errors import InvalidField
from ..job import FrameRange, GenerationJob
from ..take.folder import Take, reserve_take
from ..take.record import TakeRecord, take_of

JOB_FILE = "job.json"


def chunks(frames: FrameRange, chunk: int) -> list[FrameRange]:
    """Consecutive chunks of at most `chunk` frames covering `frames`: one farm task each."""
    if isinstance(chunk, bool) or chunk < 1:
        raise InvalidField("chunk", chunk, "a whole number of frames, 1 or more")
    return [
        FrameRange(first, min(first + chunk - 1, frames.last))
        for first in range(frames.first, frames.last + 1, chunk)
    ]


def take_at(folder: Path) -> tuple[Take, TakeRecord]:
    """The take whose version folder is `folder` (`<root>/<name>/vNNN`), with its record."""
    folder = Path(folder).absolute()
    if not folder.is_dir():
        raise InvalidField("take-dir", str(folder), "an existing take folder <root>/<name>/vNNN")
    take = take_of(folder)
    record = TakeRecord.load(folder)
    if record is None:
        raise InvalidField(
            "take-dir", str(folder), "a take folder holding a readable manifest.json"
        )
    return take, record


def window_take(folder: Path, job: GenerationJob) -> Take:
    """The reserved take a chunk job writes into; its frames must lie inside the take's."""
    take, record = take_at(folder)
    if not (record.first <= job.frames.first and job.frames.last <= record.last):
        raise InvalidField(
            "frames", str(job.frames), f"a chunk inside the take's {record.first}-{record.last}"
        )
    if take.padding(job.frames.last) != take.padding(record.last):
        raise InvalidField("frames", str(job.frames), "a chunk with the take's frame padding")
    return take


def reserve(job: GenerationJob, chunk: int) -> Take:
    """Check the job fully, reserve its take folder, write job.json and a queued record.

    A plate job's region of interest is found once here, over the whole shot, and pinned in
    job.json: every chunk then generates the same part of the plate.
    """
    from ..pipeline.canvas import PlateCanvas
    from ..pipeline.prepare import prepare

    probe = Take(Path("."), "x", 1)
    if probe.padding(job.frames.first) != probe.padding(job.frames.last):
        raise InvalidField("frames", str(job.frames), "frame numbers of one padding width")
    planned = chunks(job.frames, chunk)
    prepared = prepare(job)
    if isinstance(prepared.canvas, PlateCanvas) and job.region is None:
        region = prepared.canvas.fit.region
        job = job.replace(region=[region.x, region.y, region.width, region.height])
        prepared = dataclasses.replace(prepared, job=job)
    weights = prepared.model.weights_hash()
    take = reserve_take(Path(job.output_root), job.name)
    (take.folder / JOB_FILE).write_text(job.to_json() + "\n", encoding="utf-8")
    prepared.new_record(take, weights, status="queued", chunks=planned).write()
    return take


def complete(folder: Path) -> TakeRecord:
    """Mark the take complete when every frame of its range exists; else fail naming them."""
    _, record = take_at(folder)
    record.mark_complete()
    return record


def default_command() -> str:
    """`genvfx` as this machine runs it, for the template's default."""
    import shutil
    import sys

    found = shutil.which("genvfx")
    return found or f"{shlex.quote(sys.executable)} -m genvfx"
