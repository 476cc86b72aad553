"""Alpha from a model (matte `model`): an LTX-2 alpha IC-LoRA (such as Alpha Gen) mattes
generated frames.

`LTX2InContextPipeline` takes the element's frames as a reference video and, with the alpha
IC-LoRA active, generates the matte as a grey video; its mean over RGB is the alpha. The pass
runs at the size and frame count the frames were generated at, so `check_alpha` holds every
window to the family's rules (a multiple of its spatial step, `step*k+1` frames, its frame
and pixel budget) when the job is prepared, before anything is written.

The reference is always the window's frames as the model generated them (display-referred,
what the IC-LoRA was trained on), also when the HDR pass then turns them into linear light.
The alpha is straight, at the model size; the canvas resizes it with the colour and
premultiplies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

import numpy as np

from ..errors import InvalidField
from ..events import CancelToken
from ..job import Format
from ..models.devices import DeviceChoice
from ..models.resolve import ModelSource
from .arguments import WindowInputs, ltx_arguments, video_tensor
from .inference import run_with_adapter

ALPHA_ADAPTER = "genvfx_alpha"
FIELD = "matte"
REFERENCE = "generated frames (model space)"


def check_alpha(model: ModelSource, size: Format, frames: int) -> None:
    """Refuse the alpha pass where the model has no alpha IC-LoRA or the window cannot run."""
    family = model.family
    if "alpha" not in family.passes:
        raise InvalidField(FIELD, "model", f"another matte: {family.label} has no alpha pass")
    if "alpha" not in model.adapters:
        raise InvalidField(
            FIELD,
            "model",
            f"another matte: {model.path} holds no alpha IC-LoRA (name it as alpha_lora in "
            "its genvfx.json, or put a loras/*alpha*.safetensors file in it)",
        )
    step = family.spatial_multiple
    if size.width % step or size.height % step:
        raise InvalidField(
            FIELD, "model", f"a generated size in multiples of {step} (this window is {size})"
        )
    if size.width * size.height > family.max_pixels:
        raise InvalidField(
            FIELD, "model", f"at most {family.max_pixels} pixels a frame (this window is {size})"
        )
    if not family.is_legal_frame_count(frames) or frames > family.max_frames:
        raise InvalidField(
            FIELD,
            "model",
            f"windows of {family.frame_step}k+1 frames, at most {family.max_frames} "
            f"(this one has {frames})",
        )


def check_alpha_windows(model: ModelSource, size: Format, frame_counts: Iterable[int]) -> None:
    """`check_alpha` for each distinct window length of a take."""
    for frames in sorted(set(frame_counts)):
        check_alpha(model, size, frames)


def alpha_record(model: ModelSource) -> dict[str, Any]:
    """What the take records of the pass: which adapter, over which frames."""
    return {"alpha": {**model.adapter_record("alpha"), "reference": REFERENCE}}


def alpha_arguments(inputs: WindowInputs, rgb: np.ndarray) -> dict[str, Any]:
    """The in-context pipeline's arguments for one window's frames (F, H, W, 3) in [0, 1]."""
    from diffusers.pipelines.ltx2.pipeline_ltx2_ic_lora import LTX2ReferenceCondition

    return {
        **ltx_arguments(replace(inputs, frames=len(rgb))),
        "reference_conditions": [
            LTX2ReferenceCondition(frames=video_tensor(np.clip(rgb, 0.0, 1.0)), strength=1.0)
        ],
    }


def run_alpha(
    pipe: Any,
    model: ModelSource,
    arguments: dict[str, Any],
    seed: int,
    device: DeviceChoice,
    cancel: CancelToken,
    on_step: Callable[[int, int], None],
    restore: dict[str, float],
) -> np.ndarray:
    """(F, H, W) alpha in [0, 1]; the job's own LoRAs are active again after."""
    matte = run_with_adapter(
        pipe,
        (ALPHA_ADAPTER, model.adapters["alpha"]),
        arguments,
        seed,
        device,
        cancel,
        on_step,
        restore,
    )
    return np.clip(matte.mean(axis=-1), 0.0, 1.0)
