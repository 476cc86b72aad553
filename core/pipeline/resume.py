"""Finishing a take whose run ended early (killed, power cut, failed, cancelled).

The record says everything the take was to be: the job, the weights, every window with
its seed and, for a farm take, each task's chunk. A resume refuses a take whose job or
weights no longer match it, deletes stale partial files, and regenerates only the windows
that own a missing frame, with their recorded seeds, writing only the missing frames. A
window that continues the one before it (it is conditioned on or cross-faded with its
frames) needs that window's pixels, which no file keeps: the chain is regenerated from its
first window, so every frame equals what an uninterrupted run writes.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InvalidField
from ..events import CancelToken, Done, EventSink, Stage, ignore
from ..job import FrameRange, GenerationJob
from ..take.record import TakeRecord, WindowRecord
from .engine import ended, run_windows, take_done
from .inference import PipelineCache
from .parallel import require_rank
from .prepare import Prepared, prepare

RESUMABLE = ("interrupted", "failed", "cancelled", "queued")


def resume(
    folder: Path,
    on_event: EventSink = ignore,
    cancel: CancelToken | None = None,
    cache: PipelineCache | None = None,
) -> Done:
    """Finish the take in `folder`; a complete take is left as it is."""
    cancel = cancel or CancelToken()
    cache = cache or PipelineCache()
    record = TakeRecord.read(Path(folder).absolute())
    take = record.take
    paths = [take.frame_path(f, record.last) for f in record.frame_range]
    if record.complete:
        on_event(Stage("skip", f"take {take.folder} is already complete"))
        return take_done(take, paths, loaded=False)
    if record.status not in RESUMABLE:
        raise InvalidField(
            "take",
            str(take.folder),
            f"a take whose run has ended (it is {record.status}: process {record.pid} on "
            f"{record.host or 'an unknown host'})",
        )
    job = GenerationJob.from_dict(record.job)
    if job.job_hash() != record.job_hash:
        raise InvalidField(
            "take", str(take.folder), "a take whose recorded job is unchanged (its hash differs)"
        )
    require_rank(job.gpus)
    on_event(Stage("resolve", f"resolving {job.model}"))
    prepared = prepare(job)
    on_event(Stage("hash", f"hashing weights of {prepared.model.path}"))
    weights = prepared.model.weights_hash()
    recorded = record.model.get("weights_hash")
    if weights != recorded:
        raise InvalidField(
            "model",
            job.model,
            f"the weights the take was made with ({recorded}); the folder now holds {weights}",
        )
    removed = remove_partials(take.folder)
    if removed:
        on_event(Stage("clean", f"removed {removed} partial file(s) of the interrupted run"))
    missing = missing_frames(record)
    planned = resume_plan(record, prepared, missing)
    record.mark_running()

    def finish() -> Done:
        loaded = False
        for chunk, chunk_prepared, windows in planned:
            on_event(Stage("resume", f"frames {chunk}: {len(windows)} window(s) to generate"))
            done = run_windows(chunk_prepared, record, windows, on_event, cancel, cache, False)
            loaded = loaded or done.model_loaded
        record.mark_complete()
        return take_done(take, paths, loaded)

    return ended(record, finish)


def missing_frames(record: TakeRecord) -> set[int]:
    """The take's frames not on disk."""
    take = record.take
    return {f for f in record.frame_range if not take.frame_path(f, record.last).is_file()}


def resume_plan(
    record: TakeRecord, prepared: Prepared, missing: set[int]
) -> list[tuple[FrameRange, Prepared, list[WindowRecord]]]:
    """Each chunk with missing frames, prepared, and the windows that must run for them."""
    job = prepared.job
    planned = []
    for chunk in chunks_of(record):
        windows = windows_to_run(record, chunk, missing, job.mode.rule.start_frame)
        if windows:
            chunk_job = job if chunk == job.frames else job.replace(frames=str(chunk))
            planned.append((chunk, prepared if chunk_job is job else prepare(chunk_job), windows))
    return planned


def remove_partials(folder: Path) -> int:
    """Delete the temporary files (`.NAME.partial-PID...`) a killed run left; how many."""
    count = 0
    for path in folder.glob(".*.partial-*"):
        if path.is_file():
            path.unlink(missing_ok=True)
            count += 1
    return count


def chunks_of(record: TakeRecord) -> list[FrameRange]:
    """The ranges generated independently: each farm task's chunk, else the whole take."""
    recorded = record.generated.get("chunks")
    if isinstance(recorded, list) and recorded:
        try:
            return [FrameRange(int(first), int(last)) for first, last in recorded]
        except (TypeError, ValueError):
            pass
    return [record.frame_range]


def windows_to_run(
    record: TakeRecord, chunk: FrameRange, missing: set[int], start_frame: bool
) -> list[WindowRecord]:
    """The chunk's windows that must run so every missing frame is written as before.

    A frame is written by the last window holding it. A window depends on the one before
    when it overlaps it or (image-to-video) starts from its last frame.
    """
    windows = [w for w in record.windows if chunk.first <= w.first <= chunk.last]
    owning = {record.window_of(f) for f in missing if f in chunk}
    owners = {i for i, w in enumerate(windows) if w in owning}
    needed: set[int] = set()
    for index in owners:
        start = index
        while start > 0 and (start_frame or windows[start].first <= windows[start - 1].last):
            start -= 1
        needed.update(range(start, index + 1))
    return [windows[i] for i in sorted(needed)]
