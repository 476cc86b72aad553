"""One job from start to a complete take: resolve, plan, reserve, generate, convert, write.

A shot is generated window by window (`pipeline.windows`): each window's frames are converted
and written while the next one generates, so memory does not grow with the shot's length.

Everything that can be refused is checked before the take's folder is reserved, so an
invalid job writes nothing. After that, a failure or a cancel leaves the take marked
incomplete (with why) and no frame under a final name that was not fully written.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..errors import Cancelled, GenvfxError, RuntimeFailure
from ..events import CancelToken, Done, EventSink, FrameWritten, Progress, Stage, ignore
from ..job.job import MAX_SEED, GenerationJob
from ..media.colour import check_space, config_name
from ..media.exr import ATTRIBUTE_PREFIX, AttributeValue, write_exr
from ..models.devices import DeviceChoice, choose_device
from ..models.resolve import ModelSource, resolve_model
from ..take.folder import Take, reserve_take
from .arguments import WindowInputs, arguments_for, window_class
from .canvas import Canvas, Colour, PlateCanvas, free_canvas, plate_canvas
from .inference import LoadKey, PipelineCache, run_pipeline
from .plan import Plan, make_plan
from .windows import Span, blend


@dataclass(frozen=True)
class Prepared:
    """A job whose every check has passed: nothing is on disk yet."""

    job: GenerationJob
    model: ModelSource
    plan: Plan
    device: DeviceChoice
    ocio_config: str
    working_space: str
    model_space: str
    canvas: Canvas


def prepare(job: GenerationJob) -> Prepared:
    """Every check that needs the model, the plate, the OCIO config or the device, before any write."""
    model = resolve_model(job.model, job.family, job.allow_network)
    model.family.pipeline_for(job.mode, model.index_class)
    config = config_name(job.ocio_config)
    working = check_space(config, job.working_space, "working_space")
    model_space = check_space(config, job.model_space, "model_space")
    plate_space = working
    if job.plate_space is not None:
        plate_space = check_space(config, job.plate_space, "plate_space")
    colour = Colour(config, working, model_space, plate_space)
    canvas: Canvas
    if job.mode == "t2v":
        canvas = free_canvas(job, model.family, colour)
    else:
        canvas = plate_canvas(job, model.family, colour)
    plan = make_plan(job, model, canvas.generated_size, canvas.output_format)
    device = choose_device(job.device, job.dtype)
    return Prepared(job, model, plan, device, config, working, model_space, canvas)


def generate(
    job: GenerationJob,
    on_event: EventSink = ignore,
    cancel: CancelToken | None = None,
    cache: PipelineCache | None = None,
    take: Take | None = None,
) -> Done:
    """Run one job to a complete take, or raise a `GenvfxError`.

    With `take`, frames go into that existing version folder and its manifest is left
    alone: a farm task writes its window of a take that a final step completes. Frames
    already on disk there are kept, so re-running a finished window does nothing.
    """
    cancel = cancel or CancelToken()
    cache = cache or PipelineCache()
    on_event(Stage("resolve", f"resolving {job.model}"))
    prepared = prepare(job)
    on_event(Stage("hash", f"hashing weights of {prepared.model.path}"))
    weights = prepared.model.weights_hash()
    if cancel.cancelled:
        raise Cancelled("cancelled before the take was started")
    if take is not None:
        return _run(prepared, take, None, on_event, cancel, cache, weights)
    take = reserve_take(Path(job.output_root), job.name)
    manifest = manifest_for(prepared, take, weights)
    take.write_manifest(manifest)
    try:
        done = _run(prepared, take, manifest, on_event, cancel, cache, weights)
    except Cancelled as exc:
        take.write_manifest({**manifest, "status": "cancelled", "message": str(exc)})
        raise
    except GenvfxError as exc:
        take.write_manifest({**manifest, "status": "failed", "message": str(exc)})
        raise
    except Exception as exc:
        take.write_manifest({**manifest, "status": "failed", "message": repr(exc)})
        raise RuntimeFailure(f"generation failed: {exc}") from exc
    return done


def _run(
    prepared: Prepared,
    take: Take,
    manifest: dict[str, Any] | None,
    on_event: EventSink,
    cancel: CancelToken,
    cache: PipelineCache,
    weights: str,
) -> Done:
    job, plan = prepared.job, prepared.plan
    paths = [take.frame_path(f, job.frames.last) for f in job.frames]
    if manifest is None and all(p.is_file() for p in paths):
        on_event(Stage("skip", f"frames {job.frames} are already in {take.folder}"))
        return _done(take, paths, loaded=False)
    key = LoadKey(
        path=prepared.model.path,
        pipeline_class=plan.pipeline_class,
        device=prepared.device.device,
        dtype=prepared.device.dtype,
        cpu_offload=job.cpu_offload,
        vae_tiling=job.vae_tiling,
    )
    loaded = False
    pipes: dict[str, Any] = {}
    if not _keeps_plate(plan, job):
        on_event(Stage("load", f"loading {plan.pipeline_class} on {key.device} ({key.dtype})"))
        pipe, loaded = cache.get(key, job.allow_network)
        pipes[plan.pipeline_class] = pipe
        if cancel.cancelled:
            raise Cancelled("cancelled while the model loaded")
    started = time.monotonic()
    writer = _Writer(prepared, take, weights, on_event, cancel)
    try:
        _windows(prepared, pipes, writer, on_event, cancel)
        writer.finish()
    finally:
        writer.close()
    inference_s = time.monotonic() - started
    if manifest is None:
        return _done(take, paths, loaded)
    manifest.update(
        complete=True,
        status="complete",
        finished=_now(),
        inference_seconds=round(inference_s, 3),
        frames=[
            {"frame": frame, "file": path.name, "index": index}
            for index, (frame, path) in enumerate(zip(job.frames, paths, strict=True))
        ],
    )
    take.write_manifest(manifest)
    return _done(take, paths, loaded)


def _keeps_plate(plan: Plan, job: GenerationJob) -> bool:
    """Strength 0 keeps the plate: no model runs."""
    return job.mode in ("v2v", "inpaint") and plan.strength == 0.0


def _windows(
    prepared: Prepared,
    pipes: dict[str, Any],
    writer: _Writer,
    on_event: EventSink,
    cancel: CancelToken,
) -> None:
    """Generate window after window; hand each finished frame to the writer at once.

    Only the frames the next window overlaps are held back (to be cross-faded), so memory
    holds about one window whatever the length of the shot.
    """
    job, plan = prepared.job, prepared.plan
    carry: np.ndarray | None = None
    last: np.ndarray | None = None
    total = len(plan.windows)
    for number, span in enumerate(plan.windows):
        if cancel.cancelled:
            raise Cancelled(f"cancelled before window {number + 1} of {total}")
        first = job.frames.first + span.start
        on_event(
            Stage(
                "generate",
                f"window {number + 1}/{total}: frames {first}-{first + span.count - 1}, "
                f"{span.generated} frames at {plan.generated_size}",
            )
        )
        inputs = _window_inputs(prepared, span, carry, last)
        pixels = _generate(prepared, pipes, number, span, inputs, writer, on_event, cancel)
        if carry is not None:
            pixels[: len(carry)] = blend(carry, pixels[: len(carry)])
        hold = plan.windows[number + 1].overlap if number + 1 < total else 0
        ready = span.count - hold
        writer.submit(span.start, pixels[:ready])
        carry = pixels[ready : span.count].copy() if hold else None
        last = pixels[span.count - 1].copy()
        del pixels, inputs


def _window_inputs(
    prepared: Prepared, span: Span, previous: np.ndarray | None, last: np.ndarray | None
) -> WindowInputs:
    job, plan, canvas = prepared.job, prepared.plan, prepared.canvas
    plate = mask = image = None
    if isinstance(canvas, PlateCanvas):
        frames = [
            job.frames.first + min(span.start + i, len(job.frames) - 1)
            for i in range(span.generated)
        ]
        if job.mode in ("v2v", "inpaint"):
            plate = _stack(canvas.model_frame, frames)
        if job.mode == "inpaint":
            mask = _stack(canvas.model_mask, frames)
        if job.mode == "i2v" and span.start == 0:
            start = job.condition_frame if job.condition_frame is not None else job.frames.first
            image = canvas.model_frame(start)
    if job.mode == "i2v" and image is None and previous is None:
        image = last
    return WindowInputs(
        prompt=job.prompt,
        negative_prompt=job.negative_prompt,
        frames=span.generated,
        width=plan.generated_size.width,
        height=plan.generated_size.height,
        steps=plan.steps,
        guidance=plan.guidance,
        fps=plan.fps,
        strength=plan.strength,
        frame_step=prepared.model.family.frame_step,
        plate=plate,
        mask=mask,
        image=image,
        previous=previous,
    )


def _stack(read: Callable[[int], np.ndarray], frames: list[int]) -> np.ndarray:
    """One array of `frames` (repeated frame numbers are read once)."""
    seen: dict[int, np.ndarray] = {}
    for frame in frames:
        if frame not in seen:
            seen[frame] = read(frame)
    return np.stack([seen[frame] for frame in frames])


def _generate(
    prepared: Prepared,
    pipes: dict[str, Any],
    number: int,
    span: Span,
    inputs: WindowInputs,
    writer: _Writer,
    on_event: EventSink,
    cancel: CancelToken,
) -> np.ndarray:
    """(span.count, h, w, 3) model-space frames of one window."""
    job, plan = prepared.job, prepared.plan
    if _keeps_plate(plan, job) and inputs.plate is not None:
        return np.array(inputs.plate[: span.count], dtype=np.float32)
    name = window_class(plan.pipeline_class, continues=inputs.previous is not None)
    pipe = _pipeline(pipes, name)
    frames_total = len(job.frames)
    pixels = run_pipeline(
        pipe,
        arguments_for(name, inputs),
        (job.seed + number) % (MAX_SEED + 1),
        prepared.device,
        cancel,
        lambda step, total: on_event(Progress(step, total, writer.done, frames_total)),
    )
    size = plan.generated_size
    if pixels.shape[0] < span.count or pixels.shape[1:3] != (size.height, size.width):
        raise RuntimeFailure(
            f"{name} returned {pixels.shape[0]} frames of {pixels.shape[2]}x{pixels.shape[1]}; "
            f"expected {span.generated} of {size}"
        )
    return pixels[: span.count]


def _pipeline(pipes: dict[str, Any], name: str) -> Any:
    """The loaded pipeline as `name`, sharing its modules (no second load)."""
    if name not in pipes:
        import diffusers

        base = next(iter(pipes.values()))
        pipes[name] = getattr(diffusers, name).from_pipe(base)
        pipes[name].set_progress_bar_config(disable=True)
    return pipes[name]


class _Writer:
    """Writes take frames on every core while the next window generates.

    At most the frames of two windows are queued: submitting a window first waits for the
    one before the last, so a long shot never piles up frames in memory.
    """

    def __init__(
        self,
        prepared: Prepared,
        take: Take,
        weights: str,
        on_event: EventSink,
        cancel: CancelToken,
    ) -> None:
        self.prepared = prepared
        self.take = take
        self.on_event = on_event
        self.cancel = cancel
        self.base = provenance(prepared, take, weights)
        self.done = 0
        self.batches: list[list[tuple[int, Future[Path]]]] = []
        workers = max(1, os.cpu_count() or 1)
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="genvfx-write")

    def submit(self, start: int, pixels: np.ndarray) -> None:
        """Queue frames start, start+1, ... of the shot (indices into the job's range)."""
        job = self.prepared.job
        batch = []
        for offset in range(len(pixels)):
            index = start + offset
            frame = job.frames.first + index
            batch.append((frame, self.pool.submit(self._write, index, frame, pixels[offset])))
        self.batches.append(batch)
        while len(self.batches) > 1:
            self._drain(self.batches.pop(0))

    def finish(self) -> None:
        while self.batches:
            self._drain(self.batches.pop(0))

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def _drain(self, batch: list[tuple[int, Future[Path]]]) -> None:
        plan = self.prepared.plan
        total = len(self.prepared.job.frames)
        for frame, future in batch:
            path = future.result()
            self.done += 1
            self.on_event(FrameWritten(frame, str(path)))
            self.on_event(Progress(plan.steps, plan.steps, self.done, total))

    def _write(self, index: int, frame: int, pixels: np.ndarray) -> Path:
        job = self.prepared.job
        path = self.take.frame_path(frame, job.frames.last)
        if self.cancel.cancelled:
            raise Cancelled("cancelled while writing frames")
        if path.is_file():
            return path
        rgba = self.prepared.canvas.element(frame, pixels)
        attrs: dict[str, AttributeValue] = {
            **self.base,
            ATTRIBUTE_PREFIX + "frame_index": index,
            ATTRIBUTE_PREFIX + "frame": frame,
        }
        origin = (0, 0)
        if isinstance(self.prepared.canvas, PlateCanvas):
            attrs["PixelAspectRatio"] = float(self.prepared.canvas.pixel_aspect)
            origin = self.prepared.canvas.info.display_origin
        write_exr(path, rgba, job.compression, job.pixel_type, attrs, origin)
        return path


def _done(take: Take, paths: list[Path], loaded: bool) -> Done:
    return Done(
        take_dir=str(take.folder),
        version=take.label,
        frames=[str(p) for p in paths],
        manifest=str(take.manifest_path),
        model_loaded=loaded,
    )


def provenance(prepared: Prepared, take: Take, weights: str) -> Mapping[str, AttributeValue]:
    """The `genvfx/` header attributes every frame of a take carries."""
    job = prepared.job
    values: dict[str, AttributeValue] = {
        "prompt": job.prompt,
        "negative_prompt": job.negative_prompt,
        "seed": job.seed,
        "steps": prepared.plan.steps,
        "guidance": prepared.plan.guidance,
        "strength": prepared.plan.strength,
        "mode": job.mode,
        "model": job.model,
        "weights_hash": weights,
        "family": prepared.model.family.key,
        "pipeline": prepared.plan.pipeline_class,
        "version": __version__,
        "job_hash": job.job_hash(),
        "take": f"{take.name}/{take.label}",
        "working_space": prepared.working_space,
        "job": job.to_json(indent=None),
    }
    return {ATTRIBUTE_PREFIX + k: v for k, v in values.items()}


def manifest_for(prepared: Prepared, take: Take, weights: str) -> dict[str, Any]:
    """The take's manifest before any frame is written (`complete` false)."""
    job, plan = prepared.job, prepared.plan
    return {
        "genvfx_version": __version__,
        "complete": False,
        "status": "running",
        "created": _now(),
        "host": platform.node(),
        "job": job.to_dict(),
        "job_hash": job.job_hash(),
        "take": {"name": take.name, "version": take.label, "folder": str(take.folder)},
        "pattern": take.pattern(job.frames.last),
        "first": job.frames.first,
        "last": job.frames.last,
        "model": {
            "reference": job.model,
            "path": str(prepared.model.path),
            "family": prepared.model.family.key,
            "pipeline": plan.pipeline_class,
            "weights_hash": weights,
        },
        "generated": {
            "frames": plan.generated_frames,
            "width": plan.generated_size.width,
            "height": plan.generated_size.height,
            "window": plan.window,
            "overlap": plan.overlap,
            "windows": [
                {
                    "first": job.frames.first + span.start,
                    "last": job.frames.first + span.end - 1,
                    "generated": span.generated,
                    "overlap": span.overlap,
                }
                for span in plan.windows
            ],
            "trimmed_to": len(job.frames),
            "resized_to": {"width": plan.output_format.width, "height": plan.output_format.height},
            "steps": plan.steps,
            "guidance": plan.guidance,
            "strength": plan.strength,
            "fps": plan.fps,
            "seed_per_window": "seed + window number",
            "device": prepared.device.device,
            "dtype": prepared.device.dtype,
        },
        "placement": prepared.canvas.describe(),
        "colour": {
            "ocio_config": prepared.ocio_config,
            "model_space": prepared.model_space,
            "working_space": prepared.working_space,
        },
        "frames": [],
    }


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
