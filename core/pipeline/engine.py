"""One job from start to a complete take: prepare, reserve, generate window by window, write.

A shot is generated window by window (`pipeline.windows`): each window's frames are handed
to the take's writer as the VAE decodes them (`pipeline.stream`) and written while the rest
decode and the next window generates, so memory does not grow with the shot.

Everything that can be refused is checked before the take's folder is reserved, so an
invalid job writes nothing. After that, a failure or a cancel leaves the take marked
`failed` or `cancelled` (with why) and no frame under a final name that was not fully written.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import Cancelled, GenvfxError, InvalidField, RuntimeFailure
from ..events import CancelToken, Done, EventSink, Progress, Stage, ignore
from ..job import FrameRange, GenerationJob
from ..job.pathmap import PathMapping
from ..media.colour import View
from ..take.carry import Carry, carry_path
from ..take.folder import Take, reserve_take
from ..take.heartbeat import Heartbeat
from ..take.record import TakeRecord, WindowRecord
from ..take.writer import FrameFormat, FrameWriter
from .alpha_model import alpha_arguments, run_alpha
from .arguments import WindowInputs, arguments_for, window_class
from .chain import Chain, Segment
from .hdr import hdr_arguments, run_hdr
from .inference import LoadKey, PipelineCache, run_pipeline, with_call_defaults
from .levers import Levers
from .parallel import require_rank
from .prepare import Prepared, frame_origin, prepare
from .stream import decoded_groups
from .two_stage import run_two_stage
from .window_run import run_segments

PassRun = Callable[..., np.ndarray]
"""An adapter pass (`run_hdr`, `run_alpha`): pipe, model, arguments, seed, device, cancel,
progress, the LoRAs to restore -> frames."""

__all__ = ["Prepared", "generate", "prepare", "run_windows", "take_done"]


def generate(
    job: GenerationJob,
    on_event: EventSink = ignore,
    cancel: CancelToken | None = None,
    cache: PipelineCache | None = None,
    take: Take | None = None,
    paths: PathMapping | None = None,
) -> Done:
    """Run one job to a complete take, or raise a `GenvfxError`.

    With `take`, the job is one chunk of a take reserved by `genvfx farm`: its frames go
    into that folder with the provenance and window seeds the take's record gives them,
    and the record is left for `farm-complete`. Frames already on disk are kept, so
    re-running a finished chunk does nothing.

    `paths` maps the job's files to where this machine sees them; the take is still
    checked against the job as it was recorded.
    """
    require_rank(job.gpus)
    cancel = cancel or CancelToken()
    cache = cache or PipelineCache()
    record = windows = chunk = None
    if take is not None:
        record, windows, chunk, job = farm_chunk(take, job)
    if paths is not None:
        job = paths.apply(job)
    on_event(Stage("resolve", f"resolving {job.model}"))
    prepared = prepare(job)
    _warn_view(prepared, on_event)
    on_event(Stage("hash", f"hashing weights of {prepared.model.path}"))
    weights = prepared.model.weights_hash()
    if cancel.cancelled:
        raise Cancelled("cancelled before the take was started")
    if record is not None and windows is not None:
        return run_windows(prepared, record, windows, on_event, cancel, cache, False, chunk)
    take = reserve_take(Path(job.output_root), job.name)
    record = prepared.new_record(take, weights)
    try:
        record.write()
    except RuntimeFailure:
        with contextlib.suppress(OSError):
            take.folder.rmdir()
        raise
    return ended(
        record,
        lambda: run_windows(prepared, record, record.windows, on_event, cancel, cache, final=True),
    )


def ended(record: TakeRecord, work: Callable[[], Done]) -> Done:
    """Run `work` on the record's take, its heartbeat beating; a failure or cancel marks the
    take `failed` or `cancelled`, saying why, and raises. When even that cannot be written (a full disk), the
    error says so; a reader then sees the run as interrupted."""
    try:
        with Heartbeat(record.folder):
            return work()
    except Cancelled as exc:
        _mark(record, "cancelled", str(exc), exc)
        raise
    except GenvfxError as exc:
        _mark(record, "failed", str(exc), exc)
        raise
    except Exception as exc:
        failure = RuntimeFailure(f"generation failed: {exc}")
        _mark(record, "failed", repr(exc), failure)
        raise failure from exc


def _mark(record: TakeRecord, status: str, message: str, error: GenvfxError) -> None:
    try:
        record.mark_ended(status, message)
    except RuntimeFailure as exc:
        error.args = (f"{error}; and the take could not be marked {status}: {exc}",)


def _warn_view(prepared: Prepared, on_event: EventSink) -> None:
    """A view that gives nothing back above 1.0 cannot make highlights: say so."""
    returns = prepared.returns()
    if isinstance(prepared.model_space, View) and not returns.invertible:
        on_event(
            Stage(
                "colour",
                f"warning: the view {prepared.model_space} is not invertible above 1.0 "
                f"(it gives back {returns.low}-{returns.high}); generated highlights clip",
            )
        )


def farm_chunk(
    take: Take, job: GenerationJob
) -> tuple[TakeRecord, list[WindowRecord], FrameRange, GenerationJob]:
    """One chunk of a farm take: its record, the recorded windows the chunk generates, the
    chunk's frames and the whole take's job (a chunk is planned as part of the whole shot)."""
    record = TakeRecord.read(take.folder)
    windows = _chunk_windows(record, job)
    return record, windows, job.frames, job.replace(frames=record.job["frames"])


def _chunk_windows(record: TakeRecord, job: GenerationJob) -> list[WindowRecord]:
    """The recorded windows of one farm chunk; the job must be the take's, on one chunk."""
    difference = record.first_difference(job.to_dict())
    if (
        difference is None
        and record.job_hash != job.replace(frames=record.job["frames"]).job_hash()
    ):
        difference = "job_hash"
    if difference is not None:
        raise InvalidField(
            "take-dir",
            str(record.folder),
            f"the take of this job (its job.json, unchanged); this job differs in {difference}",
        )
    if not record.covers(job.frames):
        starts = ", ".join(f"{w.first}-{w.last}" for w in record.windows[:8])
        raise InvalidField(
            "frames",
            str(job.frames),
            f"a chunk of the take as `genvfx farm` planned it (windows {starts})",
        )
    return [w for w in record.windows if job.frames.first <= w.first <= job.frames.last]


def chunk_done(
    prepared: Prepared, record: TakeRecord, windows: list[WindowRecord], frames: FrameRange
) -> bool:
    """Every frame of the chunk is on disk and, until the take is complete, every state its
    chained windows leave: running it again would do nothing."""
    plan, take = prepared.plan, record.take
    if not all(take.frame_path(f, record.last).is_file() for f in frames):
        return False
    chain = Chain.of(prepared.job, plan.pipeline_class, plan.strength, record)
    owed = [carry_path(take.folder, chain.windows[i].first) for i in chain.owed(windows)]
    return record.complete or all(p.is_file() for p in owed)


def run_windows(
    prepared: Prepared,
    record: TakeRecord,
    windows: list[WindowRecord],
    on_event: EventSink,
    cancel: CancelToken,
    cache: PipelineCache,
    final: bool,
    frames: FrameRange | None = None,
) -> Done:
    """Generate `windows` of the take's plan into the record's take, keeping frames already
    on disk; `prepared` is the whole take's job, `frames` those this run owns (default all).

    `final`: mark the record complete afterwards (a farm chunk leaves that to
    `farm-complete`; `resume` marks it once every window has run).
    """
    job, plan = prepared.job, prepared.plan
    frames = frames or job.frames
    take = record.take
    paths = [take.frame_path(f, record.last) for f in frames]
    chain = Chain.of(job, plan.pipeline_class, plan.strength, record)
    if not final and chunk_done(prepared, record, windows, frames):
        on_event(Stage("skip", f"frames {frames} are already in {take.folder}"))
        return take_done(take, paths, loaded=False)
    segments = chain.segments(windows)
    states = chain.starting_states(record, segments, plan.generated_size, frames)
    key = load_key(prepared)
    loaded = False
    pipes: dict[str, Any] = {}
    if not keeps_plate(prepared):
        on_event(Stage("load", f"loading {plan.pipeline_class} on {key.device} ({key.dtype})"))
        pipe, loaded = cache.get(key, job.allow_network)
        pipes[plan.pipeline_class] = pipe
        if cancel.cancelled:
            raise Cancelled("cancelled while the model loaded")
    started = time.monotonic()
    origin, pixel_aspect = frame_origin(prepared)
    writer = FrameWriter(
        record,
        prepared.canvas.element,
        FrameFormat(job.compression, job.pixel_type, origin, pixel_aspect),
        on_event,
        cancel,
        plan.steps,
        len(frames),
    )

    try:
        generate_windows(
            prepared, chain, segments, states, pipes, writer, on_event, cancel, key, record
        )
        writer.finish()
    finally:
        writer.close()
    if final:
        record.mark_complete(time.monotonic() - started)
    return take_done(take, paths, loaded)


def generate_windows(
    prepared: Prepared,
    chain: Chain,
    segments: list[Segment],
    states: dict[int, Carry],
    pipes: dict[str, Any],
    writer: FrameWriter,
    on_event: EventSink,
    cancel: CancelToken,
    key: LoadKey,
    record: TakeRecord | None,
) -> None:
    """Generate the segments' windows with the loaded `pipes`, frames to `writer`.

    `record`: the take whose chained windows leave their state in it; None for a follower
    rank, which computes what rank 0 writes and keeps nothing.
    """
    plan = prepared.plan

    def window(window: WindowRecord, inputs: WindowInputs) -> Generator[np.ndarray, None, None]:
        name = window_class(plan.pipeline_class, continues=inputs.previous is not None)
        groups = _generate(
            prepared, pipes, window, inputs, writer, on_event, cancel, key.lora_weights
        )
        with contextlib.closing(groups):
            for group in groups:
                _check_shape(name, group, window, plan.generated_size)
                yield group

    run_segments(prepared, record, chain, segments, states, writer, on_event, cancel, window)


def load_key(prepared: Prepared) -> LoadKey:
    """What the job's pipeline is loaded with (equal keys share a loaded pipeline)."""
    job = prepared.job
    return LoadKey(
        path=prepared.model.path,
        pipeline_class=prepared.plan.pipeline_class,
        device=prepared.device.device,
        dtype=prepared.device.dtype,
        cpu_offload=job.cpu_offload,
        vae_tiling=job.vae_tiling,
        levers=Levers.of(job),
        loras=prepared.load_loras(),
        allow_unsafe_weights=job.allow_unsafe_weights,
    )


def keeps_plate(prepared: Prepared) -> bool:
    """Strength 0 keeps the plate: no model runs."""
    return prepared.job.mode.rule.plate_frames and prepared.plan.strength == 0.0


def _generate(
    prepared: Prepared,
    pipes: dict[str, Any],
    window: WindowRecord,
    inputs: Any,
    writer: FrameWriter,
    on_event: EventSink,
    cancel: CancelToken,
    loras: dict[str, float],
) -> Generator[np.ndarray, None, None]:
    """The window's frames (n, h, w, 3) in order, as they are decoded: model space, or
    linear after the HDR pass; (n, h, w, 4) with the alpha pass's straight alpha as the
    fourth channel. Two stages and the passes need the whole window, so yield it once."""
    plan = prepared.plan
    count = window.last - window.first + 1
    if keeps_plate(prepared) and inputs.plate is not None:
        yield np.array(inputs.plate[:count], dtype=np.float32)
        return
    name = window_class(plan.pipeline_class, continues=inputs.previous is not None)
    pipe = _pipeline(pipes, name)
    frames_total = len(prepared.job.frames)

    def on_step(step: int, steps: int) -> None:
        on_event(Progress(step, steps, writer.done, frames_total))

    defaults = prepared.model.call_defaults
    arguments = with_call_defaults(pipe, arguments_for(name, inputs), defaults)
    if not (prepared.job.hdr or prepared.alpha_pass or prepared.job.two_stage):
        yield from decoded_groups(pipe, arguments, window.seed, prepared.device, cancel, on_step)
        return
    if prepared.job.two_stage:
        pixels = run_two_stage(
            pipes, name, prepared.model, arguments, window.seed, prepared.device, cancel, on_step
        )
    else:
        pixels = run_pipeline(pipe, arguments, window.seed, prepared.device, cancel, on_step)
    _check_shape(name, pixels, window, plan.generated_size)

    def adapter_pass(kind: str, label: str, arguments: dict[str, Any], run: PassRun) -> np.ndarray:
        pass_class = prepared.model.family.passes[kind]
        on_event(Stage(kind, f"{label} pass over frames {window.first}-{window.last}"))
        pass_pipe = _pipeline(pipes, pass_class)
        out = run(
            pass_pipe,
            prepared.model,
            with_call_defaults(pass_pipe, arguments, defaults),
            window.seed,
            prepared.device,
            cancel,
            on_step,
            loras,
        )
        _check_shape(
            pass_class, out if out.ndim == 4 else out[..., None], window, plan.generated_size
        )
        if len(out) < count:
            raise RuntimeFailure(
                f"{pass_class} returned {len(out)} frames; the window needs {count}"
            )
        return out

    generated = pixels
    if prepared.job.hdr:
        pixels = adapter_pass("hdr", "HDR", hdr_arguments(inputs, generated), run_hdr)
    if prepared.alpha_pass:
        alpha = adapter_pass("alpha", "alpha", alpha_arguments(inputs, generated), run_alpha)
        pixels = np.concatenate([pixels, alpha[..., None]], axis=-1)
    yield pixels[:count]


def _check_shape(name: str, pixels: np.ndarray, window: WindowRecord, size: Any) -> None:
    """Frames of the generated size (their count is checked once the window is whole)."""
    if pixels.ndim != 4 or pixels.shape[1:3] != (size.height, size.width):
        shape = "x".join(str(n) for n in pixels.shape)
        raise RuntimeFailure(
            f"{name} returned frames of shape {shape}; expected {window.generated} of {size}"
        )


def _pipeline(pipes: dict[str, Any], name: str) -> Any:
    """The loaded pipeline as `name`, sharing its modules (no second load)."""
    if name not in pipes:
        import diffusers

        base = next(iter(pipes.values()))
        pipes[name] = getattr(diffusers, name).from_pipe(base)
        pipes[name].set_progress_bar_config(disable=True)
    return pipes[name]


def take_done(take: Take, paths: list[Path], loaded: bool) -> Done:
    return Done(
        take_dir=str(take.folder),
        version=take.label,
        frames=[str(p) for p in paths],
        manifest=str(take.manifest_path),
        model_loaded=loaded,
    )
