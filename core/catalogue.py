"""Model families as data: which diffusers pipeline serves which mode, and each family's limits.

A family is recognised from a model folder's `model_index.json` (`_class_name`), or named
explicitly. Sizes and frame counts a family cannot take are planned up to the next legal
value by `core.plan`, never silently corrected inside the pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from core.errors import InvalidField, UnsupportedMode


@dataclass(frozen=True)
class Family:
    """One model family and the constraints its pipelines share."""

    key: str
    label: str
    pipelines: Mapping[str, str]
    spatial_multiple: int
    frame_step: int
    native_fps: float
    default_size: tuple[int, int]
    max_pixels: int
    default_steps: int
    default_guidance: float
    max_frames: int
    recognise: tuple[str, ...] = field(default=())

    def pipeline_for(self, mode: str) -> str:
        try:
            return self.pipelines[mode]
        except KeyError:
            able = [f.label for f in FAMILIES.values() if mode in f.pipelines]
            raise UnsupportedMode(
                f"mode: {mode!r} is not supported by the {self.label} family; "
                f"families that support it: {', '.join(able) or 'none yet'}"
            ) from None

    def legal_frame_count(self, wanted: int) -> int:
        """The smallest count of the form step*k+1 that holds `wanted` frames."""
        k = max(0, -(-(wanted - 1) // self.frame_step))
        return self.frame_step * k + 1

    def is_legal_frame_count(self, count: int) -> bool:
        return count >= 1 and (count - 1) % self.frame_step == 0


FAMILIES: dict[str, Family] = {
    "ltx": Family(
        key="ltx",
        label="LTX-Video",
        pipelines={
            "t2v": "LTXPipeline",
            "i2v": "LTXImageToVideoPipeline",
            "v2v": "LTXConditionPipeline",
        },
        spatial_multiple=32,
        frame_step=8,
        native_fps=25.0,
        default_size=(704, 480),
        max_pixels=1216 * 704,
        default_steps=40,
        default_guidance=3.0,
        max_frames=257,
        recognise=("LTXPipeline", "LTXImageToVideoPipeline", "LTXConditionPipeline"),
    ),
    "wan": Family(
        key="wan",
        label="Wan 2.1/2.2",
        pipelines={
            "t2v": "WanPipeline",
            "i2v": "WanImageToVideoPipeline",
            "v2v": "WanVideoToVideoPipeline",
            "inpaint": "WanVACEPipeline",
        },
        spatial_multiple=16,
        frame_step=4,
        native_fps=16.0,
        default_size=(832, 480),
        max_pixels=1280 * 720,
        default_steps=50,
        default_guidance=5.0,
        max_frames=81,
        recognise=(
            "WanPipeline",
            "WanImageToVideoPipeline",
            "WanVideoToVideoPipeline",
            "WanVACEPipeline",
        ),
    ),
    "cogvideox": Family(
        key="cogvideox",
        label="CogVideoX",
        pipelines={
            "t2v": "CogVideoXPipeline",
            "i2v": "CogVideoXImageToVideoPipeline",
            "v2v": "CogVideoXVideoToVideoPipeline",
        },
        spatial_multiple=16,
        frame_step=8,
        native_fps=8.0,
        default_size=(720, 480),
        max_pixels=1360 * 768,
        default_steps=50,
        default_guidance=6.0,
        max_frames=49,
        recognise=(
            "CogVideoXPipeline",
            "CogVideoXImageToVideoPipeline",
            "CogVideoXVideoToVideoPipeline",
        ),
    ),
}


def family_named(key: str) -> Family:
    try:
        return FAMILIES[key]
    except KeyError:
        raise InvalidField("family", key, "one of " + ", ".join(FAMILIES)) from None


def family_of_pipeline_class(class_name: str) -> Family | None:
    """The family whose pipelines include `class_name` (from model_index.json), if any."""
    for family in FAMILIES.values():
        if class_name in family.recognise:
            return family
    return None
