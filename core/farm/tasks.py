"""Farm takes: one take, generated chunk by chunk by farm tasks, then completed.

`reserve` checks the whole job and reserves its take folder before anything is queued,
writing the job (`job.json`) and a `queued` take record: the windows of the whole shot (and
their seeds), as a local run plans them, and the chunks, cut at window starts. Each task
then runs one chunk into that folder (`generate --take-dir`): frames already on disk are
kept and every frame appears atomically, stamped with the record's provenance. Where the
windows are chained, a chunk starts from the state the chunk before it left in the take
(`take.carry`), so the tasks run in order. `complete` marks the record complete once every
frame exists.
"""

from __future__ import annotations

import dataclasses
import shlex
from pathlib import Path

from ..errors import GenvfxError, InvalidField, RuntimeFailure
from ..job import FrameRange, GenerationJob
from ..take.folder import Take, reserve_take
from ..take.record import TakeRecord, WindowRecord, take_of

JOB_FILE = "job.json"


def check_chunk(chunk: int) -> None:
    if isinstance(chunk, bool) or chunk < 1:
        raise InvalidField("chunk", chunk, "a whole number of frames, 1 or more")


def window_chunks(windows: list[WindowRecord], chunk: int, last: int) -> list[FrameRange]:
    """The take's windows grouped into farm tasks of at most `chunk` frames (at least one
    window each), cut at window starts; `last` is the take's last frame.

    A task owns the frames from its first window's start to the frame before the next
    task's first window: the frames its last window shares with the next one are written
    by the next task, cross-faded, as one local run writes them.
    """
    check_chunk(chunk)
    ends = [w.first - 1 for w in windows[1:]] + [last]
    groups: list[tuple[int, int]] = []
    for window, end in zip(windows, ends, strict=True):
        if groups and end - groups[-1][0] + 1 <= chunk:
            groups[-1] = (groups[-1][0], end)
        else:
            groups.append((window.first, end))
    return [FrameRange(first, end) for first, end in groups]


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


def reserve(job: GenerationJob, chunk: int) -> tuple[Take, int | None]:
    """Check the job fully, reserve its take folder, write job.json and a queued record.

    A masked job's region of interest is found once here, over the whole shot, and pinned
    in job.json: every chunk then generates the same part of the plate. (Without a mask the
    region is the plate's frame, the same for every chunk, and the job stays as given.) Returns the take and
    the GPU memory (MiB) a worker needs, None when the job runs on the CPU.
    """
    from ..pipeline.canvas import PlateCanvas
    from ..pipeline.prepare import prepare

    probe = Take(Path("."), "x", 1)
    if probe.padding(job.frames.first) != probe.padding(job.frames.last):
        raise InvalidField("frames", str(job.frames), "frame numbers of one padding width")
    check_chunk(chunk)
    prepared = prepare(job)
    if isinstance(prepared.canvas, PlateCanvas) and job.region is None and job.mask:
        region = prepared.canvas.fit.region
        job = job.replace(region=[region.x, region.y, region.width, region.height])
        prepared = dataclasses.replace(prepared, job=job)
    weights = prepared.model.weights_hash()
    take = reserve_take(Path(job.output_root), job.name)
    (take.folder / JOB_FILE).write_text(job.to_json() + "\n", encoding="utf-8")
    planned = window_chunks(prepared.windows(), chunk, job.frames.last)
    prepared.new_record(take, weights, status="queued", chunks=planned).write()
    return take, gpu_memory_mib(job, prepared.model.path)


def in_order(record: TakeRecord, job: GenerationJob) -> bool:
    """True when a chunk of the take starts from the state the chunk before it leaves: its
    tasks must then run one after the other."""
    from ..pipeline.chain import Chain

    chain = Chain(
        tuple(record.windows), record.generated.get("chained") is True, job.mode.rule.start_frame
    )
    starts = {w.first: i for i, w in enumerate(chain.windows)}
    return any(chain.saves(starts[c.first] - 1) for c in record.chunks[1:] if c.first in starts)


def gpu_memory_mib(job: GenerationJob, model_folder: Path) -> int | None:
    """The GPU memory (MiB) a worker needs for this job: None on the CPU.

    A floor, not a promise: the size of the model's weight files (doubled for float32, a
    quarter of it with --cpu-offload) plus 2 GiB for activations.
    """
    if job.device == "cpu" or (job.device or "").startswith("mps"):
        return None
    from ..models.resolve import WEIGHT_SUFFIXES

    stored = sum(
        p.stat().st_size
        for p in Path(model_folder).rglob("*")
        if p.is_file() and p.suffix in WEIGHT_SUFFIXES
    )
    weights = stored * (2 if job.dtype == "float32" else 1)
    if job.cpu_offload:
        weights //= 4
    return int(weights // (1 << 20)) + 2048


def complete(folder: Path) -> TakeRecord:
    """Mark the take complete when every frame is there, whole and from this take.

    Otherwise fail naming the frames; a take that said complete is marked failed, so a
    deleted or replaced frame never leaves `"complete": true` behind.
    """
    _, record = take_at(folder)
    problems = frame_problems(record)
    if problems:
        shown = "; ".join(problems[:10]) + (" ..." if len(problems) > 10 else "")
        message = f"take {record.folder} has {len(problems)} bad frame(s): {shown}"
        if record.complete:
            record.mark_ended("failed", message)
        raise RuntimeFailure(message)
    record.mark_complete()
    return record


def frame_problems(record: TakeRecord) -> list[str]:
    """What is wrong with each frame of the take: missing, not whole, or from another take."""
    from ..media.exr import ATTRIBUTE_PREFIX, read_attributes, read_pixels

    take = record.take
    problems = []
    for frame in record.frame_range:
        path = take.frame_path(frame, record.last)
        if not path.is_file():
            problems.append(f"{frame} missing")
            continue
        try:
            header = read_attributes(path)
            read_pixels(path)
        except GenvfxError:
            problems.append(f"{frame} not a whole EXR")
            continue
        stamped = header.get(ATTRIBUTE_PREFIX + "job_hash")
        if stamped != record.job_hash:
            problems.append(f"{frame} from another job (job_hash {stamped!r})")
        elif header.get(ATTRIBUTE_PREFIX + "frame_index") != frame - record.first:
            problems.append(f"{frame} stamped as another frame of the take")
    return problems


def default_command() -> str:
    """`genvfx` as this machine runs it, for the template's default."""
    import shutil
    import sys

    found = shutil.which("genvfx")
    return found or f"{shlex.quote(sys.executable)} -m genvfx"
