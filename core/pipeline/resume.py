"""Finishing a take whose run ended early (killed, power cut, failed, cancelled).

The record says everything the take was to be: the job, the weights, every window with
its seed and, for a farm take, each task's chunk. A resume refuses a take whose job or
weights no longer match it, deletes stale partial files, and regenerates only the windows
that own a missing frame, with their recorded seeds, writing only the missing frames. A
chained window starts from the state the window before it saved in the take
(`take.carry`); where that state is missing, the window before runs again first. An
independent window regenerates the frames it cross-fades with (`pipeline.chain`). Every
frame equals what an uninterrupted run writes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..errors import InvalidField
from ..events import CancelToken, Done, EventSink, Stage, ignore
from ..job import GenerationJob
from ..take.carry import CARRY_DIR
from ..take.record import TakeRecord, WindowRecord
from .chain import Chain, needs_previous
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
    windows = resume_plan(record, prepared, missing_frames(record))
    record.mark_running()

    def finish() -> Done:
        on_event(Stage("resume", f"{len(windows)} window(s) to generate"))
        done = run_windows(prepared, record, windows, on_event, cancel, cache, False)
        record.mark_complete()
        return take_done(take, paths, done.model_loaded)

    return ended(record, finish)


def missing_frames(record: TakeRecord) -> set[int]:
    """The take's frames not on disk."""
    take = record.take
    return {f for f in record.frame_range if not take.frame_path(f, record.last).is_file()}


def resume_plan(record: TakeRecord, prepared: Prepared, missing: set[int]) -> list[WindowRecord]:
    """The windows that must run for the missing frames: where a chained window's state is
    in the take, from there; else from the window before it, and so on back."""
    plan = prepared.plan
    chain = Chain.of(prepared.job, plan.pipeline_class, plan.strength, record)

    def saved(index: int) -> bool:
        try:
            return chain.read(record, index, plan.generated_size) is not None
        except InvalidField:
            return False

    return windows_to_run(chain, record, missing, saved)


def remove_partials(folder: Path) -> int:
    """Delete the temporary files (`.NAME.partial-PID...`) a killed run left; how many."""
    count = 0
    for path in [*folder.glob(".*.partial-*"), *(folder / CARRY_DIR).glob(".*.partial-*")]:
        if path.is_file():
            path.unlink(missing_ok=True)
            count += 1
    return count


def windows_to_run(
    chain: Chain, record: TakeRecord, missing: set[int], saved: Callable[[int], bool]
) -> list[WindowRecord]:
    """The windows that must run so every missing frame is written as before.

    A frame is written by the last window holding it. A chained window starts from the
    state of the one before: from the take where that state was saved (`saved(index)`),
    else that window runs again first, and so on back.
    """
    windows = chain.windows
    owners = {windows.index(record.window_of(f)) for f in missing}
    needed: set[int] = set()
    for index in owners:
        start = index
        while (
            chain.chained
            and needs_previous(windows, start, chain.start_frame)
            and not saved(start - 1)
        ):
            start -= 1
        needed.update(range(start, index + 1))
    return [windows[i] for i in sorted(needed)]
