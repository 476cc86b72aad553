"""One job from start to a complete take: resolve, plan, reserve, generate, convert, write.

Everything that can be refused is checked before the take's folder is reserved, so an
invalid job writes nothing. After that, a failure or a cancel leaves the take marked
incomplete (with why) and no frame under a final name that was not fully written.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core import __version__
from core.colour import check_space, config_name, convert
from core.devices import DeviceChoice, choose_device
from core.errors import Cancelled, GenvfxError, RuntimeFailure
from core.events import CancelToken, Done, EventSink, FrameWritten, Progress, Stage, ignore
from core.exr import ATTRIBUTE_PREFIX, AttributeValue, write_exr
from core.inference import LoadKey, PipelineCache, run_pipeline
from core.job import GenerationJob
from core.models import ModelSource, resolve_model
from core.plan import Plan, make_plan
from core.resize import resize
from core.take import Take, reserve_take


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


def prepare(job: GenerationJob) -> Prepared:
    """Every check that needs the model, the OCIO config or the device, before any write."""
    model = resolve_model(job.model, job.family, job.allow_network)
    plan = make_plan(job, model)
    config = config_name(job.ocio_config)
    working = check_space(config, job.working_space, "working_space")
    model_space = check_space(config, job.model_space, "model_space")
    device = choose_device(job.device, job.dtype)
    return Prepared(job, model, plan, device, config, working, model_space)


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
    on_event(Stage("load", f"loading {plan.pipeline_class} on {key.device} ({key.dtype})"))
    pipe, loaded = cache.get(key, job.allow_network)
    frames_total = len(job.frames)
    on_event(Stage("generate", f"{plan.generated_frames} frames at {plan.generated_size}"))
    started = time.monotonic()
    pixels = run_pipeline(
        pipe,
        _pipeline_arguments(job, plan),
        job.seed,
        prepared.device,
        cancel,
        lambda step, total: on_event(Progress(step, total, 0, frames_total)),
    )
    inference_s = time.monotonic() - started
    on_event(Stage("write", f"writing {frames_total} frames to {take.folder}"))
    paths = _write_frames(prepared, take, pixels[:frames_total], weights, on_event, cancel)
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


def _done(take: Take, paths: list[Path], loaded: bool) -> Done:
    return Done(
        take_dir=str(take.folder),
        version=take.label,
        frames=[str(p) for p in paths],
        manifest=str(take.manifest_path),
        model_loaded=loaded,
    )


def _pipeline_arguments(job: GenerationJob, plan: Plan) -> dict[str, Any]:
    return {
        "prompt": job.prompt,
        "negative_prompt": job.negative_prompt,
        "num_frames": plan.generated_frames,
        "width": plan.generated_size.width,
        "height": plan.generated_size.height,
        "num_inference_steps": plan.steps,
        "guidance_scale": plan.guidance,
        "frame_rate": plan.fps,
    }


def _write_frames(
    prepared: Prepared,
    take: Take,
    pixels: np.ndarray,
    weights: str,
    on_event: EventSink,
    cancel: CancelToken,
) -> list[Path]:
    job, plan = prepared.job, prepared.plan
    out = plan.output_format
    base = provenance(prepared, take, weights)
    frames = list(job.frames)
    paths = [take.frame_path(f, job.frames.last) for f in frames]

    def write_one(index: int) -> Path:
        if cancel.cancelled:
            raise Cancelled("cancelled while writing frames")
        if paths[index].is_file():
            return paths[index]
        rgb = convert(
            pixels[index], prepared.ocio_config, prepared.model_space, prepared.working_space
        )
        rgb = resize(rgb, out.width, out.height)
        rgba = np.concatenate([rgb, np.ones((*rgb.shape[:2], 1), np.float32)], axis=2)
        attrs = {
            **base,
            ATTRIBUTE_PREFIX + "frame_index": index,
            ATTRIBUTE_PREFIX + "frame": frames[index],
        }
        write_exr(paths[index], rgba, job.compression, job.pixel_type, attrs)
        return paths[index]

    workers = max(1, min(len(frames), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="genvfx-write") as pool:
        for index, path in enumerate(pool.map(write_one, range(len(frames)))):
            on_event(FrameWritten(frames[index], str(path)))
            on_event(Progress(plan.steps, plan.steps, index + 1, len(frames)))
    return paths


def provenance(prepared: Prepared, take: Take, weights: str) -> Mapping[str, AttributeValue]:
    """The `genvfx/` header attributes every frame of a take carries."""
    job = prepared.job
    values: dict[str, AttributeValue] = {
        "prompt": job.prompt,
        "negative_prompt": job.negative_prompt,
        "seed": job.seed,
        "steps": prepared.plan.steps,
        "guidance": prepared.plan.guidance,
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
            "trimmed_to": len(job.frames),
            "resized_to": {"width": plan.output_format.width, "height": plan.output_format.height},
            "steps": plan.steps,
            "guidance": plan.guidance,
            "fps": plan.fps,
            "device": prepared.device.device,
            "dtype": prepared.device.dtype,
        },
        "colour": {
            "ocio_config": prepared.ocio_config,
            "model_space": prepared.model_space,
            "working_space": prepared.working_space,
        },
        "frames": [],
    }


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
