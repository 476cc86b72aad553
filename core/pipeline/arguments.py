"""How each diffusers pipeline class is called for one window of a shot, as data.

Every window hands its pipeline the same `WindowInputs` (model-space pixels at the generated
size); `ARGUMENTS` maps a pipeline class to the function that turns them into that class's
keyword arguments, and only those its `__call__` accepts: `run_pipeline` refuses any other
(`frame_rate`, for one, is an LTX argument alone). `CONTINUATION` names the class that runs
a window conditioned on the frames of the previous window, when it is not the class itself.

Strength (0 keeps the plate, 1 ignores it) is mapped per class:
- `WanVideoToVideoPipeline`: its own `strength` (img2img: the share of the noise schedule
  that is re-run), at least one step.
- `LTXConditionPipeline`: the plate is a video condition at frame 0 whose conditioning
  strength is `1 - strength` (its latents start that far from noise, and are held there).
- `WanVACEPipeline`: the mask handed to VACE is `mask * strength` (VACE regenerates what its
  mask marks and keeps what it does not).
- `LTX2ConditionPipeline`: as `LTXConditionPipeline`, through `LTX2VideoCondition`.
- `LTX2InContextPipeline` (v2v with an IC-LoRA): as `LTX2ConditionPipeline`; the plate is
  also the IC-LoRA's reference video, whole at any strength.
- strength exactly 0 runs no model at all: the window is the plate (see the engine).

LTX-2 image and frame conditions pass `crf=0`: the plate frame is used as it is, not
re-compressed through H.264 first (which the model was trained to expect, and which needs
the `av` package).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

NEUTRAL = 0.5


@dataclass(frozen=True)
class WindowInputs:
    """What one window gives its pipeline: model-space pixels in [0, 1] at the generated size.

    `plate` and `mask` have `frames` frames (the plate's last frame repeats past the shot's
    end); `previous` holds the frames of the previous window this window starts on (its
    first `len(previous)` frames), `image` the frame an image-to-video window starts from.
    """

    prompt: str
    negative_prompt: str
    frames: int
    width: int
    height: int
    steps: int
    guidance: float
    fps: float
    strength: float
    frame_step: int
    plate: np.ndarray | None = None
    mask: np.ndarray | None = None
    image: np.ndarray | None = None
    previous: np.ndarray | None = None

    def start_image(self) -> np.ndarray | None:
        """The frame this window starts from: the previous window's, else the i2v image."""
        if self.previous is not None:
            return np.asarray(self.previous[0])
        return self.image

    def legal_previous(self) -> np.ndarray | None:
        """The longest leading run of `previous` that is a legal frame count (k*step + 1)."""
        if self.previous is None or len(self.previous) == 0:
            return None
        count = (len(self.previous) - 1) // self.frame_step * self.frame_step + 1
        return np.asarray(self.previous[:count])


Builder = Callable[[WindowInputs], dict[str, Any]]


def _common(w: WindowInputs) -> dict[str, Any]:
    return {
        "prompt": w.prompt,
        "negative_prompt": w.negative_prompt,
        "num_frames": w.frames,
        "width": w.width,
        "height": w.height,
        "num_inference_steps": w.steps,
        "guidance_scale": w.guidance,
    }


def ltx_arguments(w: WindowInputs) -> dict[str, Any]:
    """LTX pipelines (LTX-Video and LTX-2) also take the frame rate (it scales their rotary
    position embedding)."""
    return {**_common(w), "frame_rate": w.fps}


def _ltx_text(w: WindowInputs) -> dict[str, Any]:
    return ltx_arguments(w)


def _ltx_image(w: WindowInputs) -> dict[str, Any]:
    if w.image is None:
        raise ValueError("LTXImageToVideoPipeline needs a start image")
    return {**ltx_arguments(w), "image": np.asarray(w.image, dtype=np.float32)}


def _ltx_condition(w: WindowInputs) -> dict[str, Any]:
    from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition as _Condition

    # The dataclass is annotated for PIL images; its pipeline takes float arrays as well.
    condition: Any = _Condition
    conditions = []
    if w.plate is not None:
        video = _hole_filled(w.plate, w.mask)
        conditions.append(condition(video=video, frame_index=0, strength=1.0 - w.strength))
    if w.image is not None and w.previous is None:
        conditions.append(condition(image=np.asarray(w.image, np.float32), frame_index=0))
    previous = w.legal_previous()
    if previous is not None:
        conditions.append(
            condition(video=np.asarray(previous, np.float32), frame_index=0, strength=1.0)
        )
    arguments = ltx_arguments(w)
    if conditions:
        arguments["conditions"] = conditions
    return arguments


def _ltx2_image(w: WindowInputs) -> dict[str, Any]:
    if w.image is None:
        raise ValueError("LTX2ImageToVideoPipeline needs a start image")
    return {**ltx_arguments(w), "image": _image_tensor(w.image), "image_crf": 0}


def _ltx2_condition(w: WindowInputs) -> dict[str, Any]:
    from diffusers.pipelines.ltx2.pipeline_ltx2_condition import LTX2VideoCondition

    conditions = []
    if w.plate is not None:
        conditions.append(
            LTX2VideoCondition(
                frames=video_tensor(_hole_filled(w.plate, w.mask)),
                index=0,
                strength=1.0 - w.strength,
                crf=0,
            )
        )
    if w.image is not None and w.previous is None:
        conditions.append(LTX2VideoCondition(frames=_image_tensor(w.image), index=0, crf=0))
    previous = w.legal_previous()
    if previous is not None:
        conditions.append(
            LTX2VideoCondition(frames=video_tensor(previous), index=0, strength=1.0, crf=0)
        )
    arguments = ltx_arguments(w)
    if conditions:
        arguments["conditions"] = conditions
    return arguments


def _ltx2_reference(w: WindowInputs) -> dict[str, Any]:
    """v2v conditions as `_ltx2_condition` makes them, and the plate whole as the IC-LoRA's
    in-context reference."""
    from diffusers.pipelines.ltx2.pipeline_ltx2_ic_lora import LTX2ReferenceCondition

    if w.plate is None:
        raise ValueError("an IC-LoRA reference window needs plate frames")
    reference = LTX2ReferenceCondition(frames=video_tensor(w.plate), strength=1.0)
    return {**_ltx2_condition(w), "reference_conditions": [reference]}


def _hole_filled(video: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """The plate with what the mask marks replaced by neutral grey (to be generated)."""
    if mask is None:
        return video
    hole = mask[..., None]
    return np.asarray(video * (1.0 - hole) + NEUTRAL * hole, np.float32)


def _image_tensor(image: np.ndarray) -> Any:
    """(1, 3, H, W) float tensor in [0, 1]: what the newer pipelines take without guessing."""
    import torch

    array = np.ascontiguousarray(image, dtype=np.float32)
    return torch.from_numpy(array).permute(2, 0, 1)[None]


def video_tensor(video: np.ndarray) -> Any:
    """(F, 3, H, W) float tensor in [0, 1]."""
    import torch

    array = np.ascontiguousarray(video, dtype=np.float32)
    return torch.from_numpy(array).permute(0, 3, 1, 2)


def _skyreels(w: WindowInputs) -> dict[str, Any]:
    """One diffusion-forcing window as long as the genvfx window (no internal windows)."""
    return {**_common(w), "fps": round(w.fps), "base_num_frames": w.frames}


def _skyreels_image(w: WindowInputs) -> dict[str, Any]:
    start = w.start_image()
    if start is None:
        raise ValueError("an image-to-video window needs a start image")
    return {**_skyreels(w), "image": _image_tensor(start)}


def _wan_text(w: WindowInputs) -> dict[str, Any]:
    return _common(w)


def _wan_image(w: WindowInputs) -> dict[str, Any]:
    """The start image as a (1, 3, H, W) tensor in [0, 1] (these pipelines refuse arrays)."""
    start = w.start_image()
    if start is None:
        raise ValueError("an image-to-video window needs a start image")
    return {**_common(w), "image": _image_tensor(start)}


def _with_previous(video: np.ndarray, w: WindowInputs) -> np.ndarray:
    if w.previous is None:
        return video
    out = video.copy()
    out[: len(w.previous)] = w.previous
    return out


def _wan_video(w: WindowInputs) -> dict[str, Any]:
    if w.plate is None:
        raise ValueError("a video-to-video window needs plate frames")
    arguments = _common(w)
    del arguments["num_frames"]
    video = _with_previous(np.asarray(w.plate, np.float32), w)
    return {**arguments, "video": video[None], "strength": max(w.strength, 1.0 / w.steps)}


def _wan_vace(w: WindowInputs) -> dict[str, Any]:
    shape = (w.frames, w.height, w.width)
    if w.plate is not None:
        video = np.asarray(w.plate, np.float32).copy()
    else:
        video = np.full((*shape, 3), NEUTRAL, np.float32)
    if w.mask is not None:
        mask = np.asarray(w.mask, np.float32) * w.strength
    else:
        mask = np.ones(shape, np.float32)
    if w.image is not None and w.previous is None:
        video[0] = w.image
        mask[0] = 0.0
    if w.previous is not None:
        video[: len(w.previous)] = w.previous
        mask[: len(w.previous)] = 0.0
    return {**_common(w), "video": video[None], "mask": mask[None, ..., None]}


ARGUMENTS: Mapping[str, Builder] = {
    "LTXPipeline": _ltx_text,
    "LTXImageToVideoPipeline": _ltx_image,
    "LTXConditionPipeline": _ltx_condition,
    "WanPipeline": _wan_text,
    "WanImageToVideoPipeline": _wan_image,
    "WanVideoToVideoPipeline": _wan_video,
    "WanVACEPipeline": _wan_vace,
    "LTX2Pipeline": ltx_arguments,
    "LTX2ImageToVideoPipeline": _ltx2_image,
    "LTX2ConditionPipeline": _ltx2_condition,
    "LTX2InContextPipeline": _ltx2_reference,
    "SkyReelsV2DiffusionForcingPipeline": _skyreels,
    "SkyReelsV2DiffusionForcingImageToVideoPipeline": _skyreels_image,
    "CogVideoXPipeline": _common,
    "CogVideoXImageToVideoPipeline": _wan_image,
    "CogVideoXVideoToVideoPipeline": _wan_video,
}

CONTINUATION: Mapping[str, str] = {
    "LTXPipeline": "LTXConditionPipeline",
    "LTXImageToVideoPipeline": "LTXConditionPipeline",
    "LTX2Pipeline": "LTX2ConditionPipeline",
    "LTX2ImageToVideoPipeline": "LTX2ConditionPipeline",
}
"""Pipelines that cannot take the previous window's frames hand the window to one that can."""

CONDITIONS_ON_PREVIOUS = frozenset(
    {
        "LTXConditionPipeline",
        "LTX2ConditionPipeline",
        "LTX2InContextPipeline",
        "SkyReelsV2DiffusionForcingImageToVideoPipeline",
        "WanImageToVideoPipeline",
        "WanVideoToVideoPipeline",
        "WanVACEPipeline",
        "CogVideoXImageToVideoPipeline",
        "CogVideoXVideoToVideoPipeline",
    }
)
"""Classes whose arguments carry the previous window's frames; others are only cross-faded."""


def window_class(pipeline_class: str, continues: bool) -> str:
    """The class that runs a window (continuing the previous one or not)."""
    if continues:
        return CONTINUATION.get(pipeline_class, pipeline_class)
    return pipeline_class


def arguments_for(pipeline_class: str, inputs: WindowInputs) -> dict[str, Any]:
    """The keyword arguments of `pipeline_class` for one window."""
    builder = ARGUMENTS.get(pipeline_class, _common)
    if pipeline_class not in CONDITIONS_ON_PREVIOUS and inputs.previous is not None:
        inputs = _without_previous(inputs)
    return builder(inputs)


def _without_previous(inputs: WindowInputs) -> WindowInputs:
    from dataclasses import replace

    return replace(inputs, previous=None)
