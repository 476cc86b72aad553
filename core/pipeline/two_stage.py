"""LTX-2's two-stage generation: half size first, latents upsampled, a short refine at full size.

The first stage runs the job's steps at half the generated size and returns latents; the
model folder's latent upsampler (`latent_upsampler/`, as Lightricks publishes LTX-2) doubles
their width and height; the same pipeline then refines them at full size over diffusers'
stage-two sigmas without classifier-free guidance, as the publishers' recipe does, and
decodes. Most of the work happens at a quarter of the pixels.

A generated size must halve to a legal one, so the family's spatial multiple doubles for the
plan. A shot longer than one window is refused: continuing a window from the previous one's
frames goes through `LTX2ConditionPipeline`, which this path does not run in two stages.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidField, RuntimeFailure
from ..events import CancelToken
from ..job import GenerationJob
from ..models.devices import DeviceChoice
from ..models.resolve import ModelSource, weights_hash
from .inference import call_pipeline, run_pipeline
from .plan import Plan
from .windows import split

PASS = "two_stage"
UPSAMPLER_FOLDER = "latent_upsampler"
FIRST_STAGE_CLASSES = ("LTX2Pipeline", "LTX2ImageToVideoPipeline")
REFINE_GUIDANCE = 1.0


def upsampler_folder(model: ModelSource) -> Path:
    return model.path / UPSAMPLER_FOLDER


def two_stage_model(job: GenerationJob, model: ModelSource) -> ModelSource:
    """The model as the plan must see it for a two-stage job (sizes that halve), or a refusal
    naming `two_stage` where the family, the folder or the mode cannot run it."""
    if not job.two_stage:
        return model
    family = model.family
    if PASS not in family.passes:
        raise InvalidField(
            "two_stage", True, f"false for {family.label} models; it needs LTX-2 (family ltx2)"
        )
    folder = upsampler_folder(model)
    if not (folder / "config.json").is_file() or not any(folder.glob("*.safetensors")):
        raise InvalidField(
            "two_stage",
            True,
            f"false: {model.path} holds no latent upsampler (a {UPSAMPLER_FOLDER}/ folder "
            "with its config.json and .safetensors weights)",
        )
    if family.pipeline_for(job.mode, model.index_class) not in FIRST_STAGE_CLASSES:
        raise InvalidField("two_stage", True, "false unless mode is t2v or i2v")
    doubled = dataclasses.replace(family, spatial_multiple=family.spatial_multiple * 2)
    return dataclasses.replace(model, family=doubled)


def check_two_stage(job: GenerationJob, model: ModelSource, plan: Plan) -> None:
    """Refuse a two-stage shot that needs more than one window."""
    if not job.two_stage:
        return
    spans = split(len(job.frames), plan.window, plan.overlap, model.family)
    if len(spans) > 1:
        raise InvalidField(
            "two_stage",
            True,
            f"false for a shot longer than one window ({len(job.frames)} frames, windows of "
            f"{plan.window}): shorten the shot or generate it in one stage",
        )


def refine_sigmas() -> list[float]:
    from diffusers.pipelines.ltx2.utils import STAGE_2_DISTILLED_SIGMA_VALUES

    return [float(s) for s in STAGE_2_DISTILLED_SIGMA_VALUES]


def two_stage_record(job: GenerationJob, model: ModelSource, plan: Plan) -> dict[str, Any]:
    """What the take records of the two stages (nothing for a one-stage job)."""
    if not job.two_stage:
        return {}
    size = plan.generated_size
    folder = upsampler_folder(model)
    return {
        PASS: {
            "pipeline": model.family.passes[PASS],
            "upsampler": str(folder),
            "sha256": weights_hash(folder),
            "first_stage": {"width": size.width // 2, "height": size.height // 2},
            "refine_sigmas": refine_sigmas(),
            "refine_guidance": REFINE_GUIDANCE,
        }
    }


def run_two_stage(
    pipes: dict[str, Any],
    name: str,
    model: ModelSource,
    arguments: dict[str, Any],
    seed: int,
    choice: DeviceChoice,
    cancel: CancelToken,
    on_step: Callable[[int, int], None],
) -> np.ndarray:
    """Full-size frames (F, H, W, 3) of one window made in two stages by `pipes[name]`."""
    pipe = pipes[name]
    sigmas = refine_sigmas()
    first_steps = int(arguments["num_inference_steps"])
    total = first_steps + len(sigmas)
    half = {**arguments, "width": arguments["width"] // 2, "height": arguments["height"] // 2}
    latents = call_pipeline(
        pipe, half, seed, choice, cancel, lambda step, _n: on_step(step, total), "latent"
    )
    upsample = _upsample_pipeline(pipes, pipe, model, choice)
    with _inference_mode():
        upsampled = upsample(latents=latents, output_type="latent").frames
    refine = {
        **arguments,
        "latents": upsampled,
        "sigmas": sigmas,
        "noise_scale": sigmas[0],
        "num_inference_steps": len(sigmas),
        "guidance_scale": REFINE_GUIDANCE,
    }
    return run_pipeline(
        pipe, refine, seed, choice, cancel, lambda step, _n: on_step(first_steps + step, total)
    )


def _inference_mode() -> Any:
    import torch

    return torch.inference_mode()


def _upsample_pipeline(
    pipes: dict[str, Any], pipe: Any, model: ModelSource, choice: DeviceChoice
) -> Any:
    """The upsampler over the loaded pipeline's VAE, loaded once per take."""
    name = model.family.passes[PASS]
    if name not in pipes:
        import diffusers
        import torch
        from diffusers.pipelines.ltx2.latent_upsampler import LTX2LatentUpsamplerModel

        folder = upsampler_folder(model)
        try:
            upsampler = LTX2LatentUpsamplerModel.from_pretrained(
                str(folder), torch_dtype=getattr(torch, choice.dtype), use_safetensors=True
            )
        except Exception as exc:
            message = f"model: loading the latent upsampler {folder} failed: {exc}"
            raise RuntimeFailure(message) from exc
        upsampler.to(choice.device)
        pipes[name] = getattr(diffusers, name)(vae=pipe.vae, latent_upsampler=upsampler)
        pipes[name].set_progress_bar_config(disable=True)
    return pipes[name]
