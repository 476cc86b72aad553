"""The HDR pass: an LTX-2 HDR IC-LoRA turns a window's generated SDR frames into linear light.

`LTX2HDRPipeline` takes the window's frames as a reference video, generates with the HDR
IC-LoRA active and decodes through LogC3 into linear Rec.709 (`HDR_SPACE`), which the take's
canvas converts into the working space. LogC3 codes below its black point decode to small
negative values (down to about -0.017): the pass clips them to 0. Below-black code values
are a camera's sensor noise floor; a generated element has none to keep, and negative light
breaks merges and premultiplication downstream.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from ..errors import InvalidField
from ..events import CancelToken
from ..job import GenerationJob, Mode
from ..models.devices import DeviceChoice
from ..models.resolve import ModelSource
from .arguments import WindowInputs, ltx_arguments, video_tensor
from .inference import run_with_adapter

HDR_SPACE = "lin_rec709"
HDR_ADAPTER = "genvfx_hdr"
NEGATIVE_TOE = "clipped to 0"


def check_hdr(job: GenerationJob, model: ModelSource) -> None:
    """Refuse `hdr` where the model or the mode cannot run the pass."""
    family = model.family
    if "hdr" not in family.passes:
        able = "a family with an HDR pass (LTX-2)"
        raise InvalidField("hdr", True, f"false for {family.label} models; it needs {able}")
    if "hdr" not in model.adapters:
        raise InvalidField(
            "hdr",
            True,
            f"false: {model.path} holds no HDR IC-LoRA (name it as hdr_lora in its "
            "genvfx.json, or put a loras/*hdr*.safetensors file in it)",
        )
    if job.mode is not Mode.T2V:
        raise InvalidField("hdr", True, "false unless mode is t2v (plate modes keep SDR)")


def check_hdr_windows(job: GenerationJob, windows: int, window: int, chained: bool) -> None:
    """Refuse `hdr` on a shot whose windows continue from each other.

    Each window would start from the previous window's frames after the pass, linear light
    the model would read as a display-referred picture. Independent windows are only
    cross-faded, which linear frames blend correctly.
    """
    if job.hdr and chained and windows > 1:
        raise InvalidField(
            "hdr",
            True,
            f"false for a shot of {windows} windows that continue from each other (a window "
            f"would start from linear HDR frames): keep the shot within one window "
            f"(--window, at most {window} frames here) or add --independent-windows",
        )


def hdr_record(model: ModelSource) -> dict[str, Any]:
    """What the take records of the pass: which adapter, decoded how."""
    return {
        "hdr": {
            **model.adapter_record("hdr"),
            "decode": "logc3",
            "space": HDR_SPACE,
            "negative_toe": NEGATIVE_TOE,
        }
    }


def hdr_arguments(inputs: WindowInputs, sdr: np.ndarray) -> dict[str, Any]:
    """The HDR pipeline's arguments for one window's SDR frames (F, H, W, 3) in [0, 1]."""
    from diffusers.pipelines.ltx2.pipeline_ltx2_hdr_lora import LTX2HDRReferenceCondition

    return {
        **ltx_arguments(replace(inputs, frames=len(sdr))),
        "reference_conditions": LTX2HDRReferenceCondition(
            frames=video_tensor(np.clip(sdr, 0.0, 1.0)), strength=1.0
        ),
    }


def run_hdr(
    pipe: Any,
    model: ModelSource,
    arguments: dict[str, Any],
    seed: int,
    device: DeviceChoice,
    cancel: CancelToken,
    on_step: Callable[[int, int], None],
    restore: dict[str, float],
) -> np.ndarray:
    """Linear Rec.709 frames from the HDR pass; the job's own LoRAs are active again after."""
    linear = run_with_adapter(
        pipe,
        (HDR_ADAPTER, model.adapters["hdr"]),
        arguments,
        seed,
        device,
        cancel,
        on_step,
        restore,
    )
    return np.maximum(linear, 0.0)
