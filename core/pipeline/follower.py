"""What a rank other than 0 does: the same pipeline calls as rank 0, writing nothing.

Context parallelism needs every rank in every transformer call, so a follower prepares the
same job, loads the same pipeline and runs the same windows with the same seeds and inputs
(each window's inputs come from the previous window's frames, which every rank holds whole
after the transformer's output is gathered). Rank 0 alone reserves the take, writes frames
and the record; when it ends, the launcher ends the followers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import numpy as np

from ..events import CancelToken, ignore
from ..job import FrameRange, GenerationJob
from ..job.pathmap import PathMapping
from ..take.folder import Take
from ..take.record import TakeRecord, WindowRecord
from ..take.writer import FrameWriter
from .chain import Chain, chained
from .engine import chunk_done, farm_chunk, generate_windows, keeps_plate, load_key
from .inference import load_pipeline
from .prepare import Prepared, prepare
from .resume import missing_frames, resume_plan


class Discard:
    """A frame writer that keeps nothing: a follower's frames are rank 0's to write."""

    done = 0

    def submit(self, first: int, frames: np.ndarray) -> None:
        del first, frames


def follow(
    job: GenerationJob,
    cancel: CancelToken,
    take: Take | None = None,
    paths: PathMapping | None = None,
) -> None:
    """Compute the windows rank 0 generates for this job (a farm chunk's with `take`)."""
    record = chunk = None
    windows: list[WindowRecord] | None = None
    if take is not None:
        record, windows, chunk, job = farm_chunk(take, job)
    if paths is not None:
        job = paths.apply(job)
    prepared = prepare(job)
    if (
        record is not None
        and windows is not None
        and chunk is not None
        and chunk_done(prepared, record, windows, chunk)
    ):
        return
    compute(prepared, record, windows or prepared.windows(), chunk, cancel, {})


def follow_resume(folder: Path, cancel: CancelToken) -> None:
    """Compute the windows rank 0 regenerates to finish the take in `folder`.

    The missing frames are read before this rank joins the others, so before rank 0 can
    write any: both see the same take.
    """
    record = TakeRecord.read(folder.absolute())
    prepared = prepare(GenerationJob.from_dict(record.job))
    windows = resume_plan(record, prepared, missing_frames(record))
    compute(prepared, record, windows, None, cancel, {})


def compute(
    prepared: Prepared,
    record: TakeRecord | None,
    windows: list[WindowRecord],
    frames: FrameRange | None,
    cancel: CancelToken,
    pipes: dict[str, Any],
) -> None:
    """Run `windows` as rank 0 does, from the states `record` holds, keeping no frame and
    saving no state (`pipes`: what is loaded so far)."""
    if keeps_plate(prepared):
        return
    job, plan = prepared.job, prepared.plan
    key = load_key(prepared)
    if plan.pipeline_class not in pipes:
        pipes.clear()
        pipes[plan.pipeline_class] = load_pipeline(key, job.allow_network)
    every = record.windows if record is not None else prepared.windows()
    chain = Chain(
        tuple(every), chained(job, plan.pipeline_class, plan.strength), job.mode.rule.start_frame
    )
    segments = chain.segments(windows)
    states = (
        chain.starting_states(record, segments, plan.generated_size, frames or job.frames)
        if record is not None
        else {}
    )
    writer = cast(FrameWriter, Discard())
    generate_windows(prepared, chain, segments, states, pipes, writer, ignore, cancel, key, None)
