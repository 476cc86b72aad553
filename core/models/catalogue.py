"""Model families as data: which diffusers pipeline serves which mode, and each family's limits.

A family is recognised from a model folder's `model_index.json` (`_class_name`), or named
explicitly. Within a family, weights trained for one pipeline (Wan's image-to-video or VACE
transformers) cannot run another: `Family.variants` says which modes such a folder serves,
and the family's `pipelines` are the modes of its plain text-to-video weights. Sizes and
frame counts a family cannot take are planned up to the next legal value by `pipeline.plan`,
never silently corrected inside the pipeline.

Two generations of one model line can share pipeline classes (Wan 2.1 and both forms of Wan 2.2
save a `WanPipeline`): `marker` names what only that form's folder has in its
`model_index.json`, a component (A14B's second expert) or a setting saved as true (TI2V-5B's
`expand_timesteps`). `passes` are
the passes a family can add to a generation (the HDR and alpha adapters over generated frames,
LTX-2's two-stage latent upsampling, an IC-LoRA reading the plate in context), by pipeline
class.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import InvalidField, UnsupportedMode
from ..job import Format


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
    variants: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    overlap: int = 0
    marker: str | None = None
    passes: Mapping[str, str] = field(default_factory=dict)
    licence: str = ""

    @property
    def modes(self) -> tuple[str, ...]:
        """Every mode some weights of this family can run."""
        found = dict.fromkeys(self.pipelines)
        for table in self.variants.values():
            found.update(dict.fromkeys(table))
        return tuple(found)

    def pipelines_of(self, index_class: str | None) -> Mapping[str, str]:
        """mode -> pipeline class for a folder whose model_index.json names `index_class`."""
        if index_class is not None and index_class in self.variants:
            return self.variants[index_class]
        return self.pipelines

    def pipeline_for(self, mode: str, index_class: str | None = None) -> str:
        """The pipeline class that runs `mode` on these weights, or `UnsupportedMode`."""
        table = self.pipelines_of(index_class)
        if mode in table:
            return table[mode]
        if mode in self.modes:
            holders = [name for name, modes in self.variants.items() if mode in modes]
            if mode in self.pipelines:
                holders.insert(0, " or ".join(sorted(set(self.recognise) - set(self.variants))))
            raise UnsupportedMode(
                f"mode: {mode!r} needs {self.label} weights made for it (a model folder whose "
                f"model_index.json names {' or '.join(holders)}); this folder holds "
                f"{index_class} weights, which serve {', '.join(table)}"
            )
        able = [f.label for f in FAMILIES.values() if mode in f.modes]
        raise UnsupportedMode(
            f"mode: {mode!r} is not supported by the {self.label} family; "
            f"families that support it: {', '.join(able) or 'none yet'}"
        )

    def legal_frame_count(self, wanted: int) -> int:
        """The smallest count of the form step*k+1 that holds `wanted` frames."""
        k = max(0, -(-(wanted - 1) // self.frame_step))
        return self.frame_step * k + 1

    def is_legal_frame_count(self, count: int) -> bool:
        return count >= 1 and (count - 1) % self.frame_step == 0

    def legal_size(self, wanted: Format, max_pixels: int | None = None) -> Format:
        """A size the family accepts, of (nearly) the same aspect, within its pixel budget."""
        m = self.spatial_multiple
        budget = self.max_pixels if max_pixels is None else max_pixels
        scale = min(1.0, math.sqrt(budget / (wanted.width * wanted.height)))
        target_w, target_h = wanted.width * scale, wanted.height * scale
        best: tuple[float, Format] | None = None
        low = max(1, math.floor(target_h / m) - 2)
        for k in range(low, math.ceil(target_h / m) + 3):
            h = k * m
            w = max(m, round(h * wanted.aspect / m) * m)
            if w * h > budget * 1.05:
                continue
            aspect_error = abs(math.log((w / h) / wanted.aspect))
            size_error = abs(math.log((w * h) / (target_w * target_h)))
            score = aspect_error * 4 + size_error
            if best is None or score < best[0]:
                best = (score, Format(w, h))
        if best is None:
            return Format(m, m)
        return best[1]


FAMILIES: dict[str, Family] = {
    "ltx": Family(
        key="ltx",
        label="LTX-Video",
        pipelines={
            "t2v": "LTXPipeline",
            "i2v": "LTXImageToVideoPipeline",
            "v2v": "LTXConditionPipeline",
            "inpaint": "LTXConditionPipeline",
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
        overlap=9,
        licence="LTX-Video 0.9 open weights licence (OpenRAIL-M style; check the model card)",
    ),
    "ltx2": Family(
        key="ltx2",
        label="LTX-2",
        pipelines={
            "t2v": "LTX2Pipeline",
            "i2v": "LTX2ImageToVideoPipeline",
            "v2v": "LTX2ConditionPipeline",
            "inpaint": "LTX2ConditionPipeline",
        },
        spatial_multiple=32,
        frame_step=8,
        native_fps=24.0,
        default_size=(768, 512),
        max_pixels=1920 * 1088,
        default_steps=40,
        default_guidance=4.0,
        max_frames=257,
        recognise=("LTX2Pipeline", "LTX2ImageToVideoPipeline", "LTX2ConditionPipeline"),
        overlap=9,
        passes={
            "hdr": "LTX2HDRPipeline",
            "alpha": "LTX2InContextPipeline",
            "two_stage": "LTX2LatentUpsamplePipeline",
            "reference": "LTX2InContextPipeline",
        },
        licence="LTX-2 Community License: free under a revenue threshold, a paid licence above",
    ),
    "wan": Family(
        key="wan",
        label="Wan 2.1",
        pipelines={
            "t2v": "WanPipeline",
            "v2v": "WanVideoToVideoPipeline",
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
        variants={
            "WanImageToVideoPipeline": {"i2v": "WanImageToVideoPipeline"},
            "WanVACEPipeline": {
                "t2v": "WanVACEPipeline",
                "i2v": "WanVACEPipeline",
                "inpaint": "WanVACEPipeline",
            },
        },
        overlap=5,
        licence="Apache-2.0",
    ),
    "wan22": Family(
        key="wan22",
        label="Wan 2.2",
        pipelines={"t2v": "WanPipeline"},
        spatial_multiple=16,
        frame_step=4,
        native_fps=16.0,
        default_size=(1280, 720),
        max_pixels=1280 * 720,
        default_steps=40,
        default_guidance=4.0,
        max_frames=81,
        recognise=("WanPipeline", "WanImageToVideoPipeline"),
        variants={"WanImageToVideoPipeline": {"i2v": "WanImageToVideoPipeline"}},
        overlap=5,
        marker="transformer_2",
        licence="Apache-2.0",
    ),
    "wan22-5b": Family(
        key="wan22-5b",
        label="Wan 2.2 TI2V-5B",
        pipelines={"t2v": "WanPipeline", "i2v": "WanImageToVideoPipeline"},
        spatial_multiple=32,
        frame_step=4,
        native_fps=24.0,
        default_size=(1280, 704),
        max_pixels=1280 * 704,
        default_steps=50,
        default_guidance=5.0,
        max_frames=121,
        recognise=("WanPipeline", "WanImageToVideoPipeline"),
        overlap=5,
        marker="expand_timesteps",
        licence="Apache-2.0",
    ),
    "skyreels": Family(
        key="skyreels",
        label="SkyReels-V2 diffusion forcing",
        pipelines={
            "t2v": "SkyReelsV2DiffusionForcingPipeline",
            "i2v": "SkyReelsV2DiffusionForcingImageToVideoPipeline",
        },
        spatial_multiple=16,
        frame_step=4,
        native_fps=24.0,
        default_size=(960, 544),
        max_pixels=1280 * 720,
        default_steps=30,
        default_guidance=6.0,
        max_frames=97,
        recognise=(
            "SkyReelsV2DiffusionForcingPipeline",
            "SkyReelsV2DiffusionForcingImageToVideoPipeline",
            "SkyReelsV2DiffusionForcingVideoToVideoPipeline",
        ),
        overlap=17,
        licence="SkyReels Community License (Wan 2.1 derived; check the model card)",
    ),
    "cogvideox": Family(
        key="cogvideox",
        label="CogVideoX",
        pipelines={
            "t2v": "CogVideoXPipeline",
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
        variants={
            "CogVideoXImageToVideoPipeline": {"i2v": "CogVideoXImageToVideoPipeline"},
        },
        overlap=9,
        licence="CogVideoX licence (Apache-2.0 for 2B; the 5B weights carry their own)",
    ),
}


def family_named(key: str) -> Family:
    try:
        return FAMILIES[key]
    except KeyError:
        raise InvalidField("family", key, "one of " + ", ".join(FAMILIES)) from None


def family_of_pipeline_class(
    class_name: str, components: frozenset[str] = frozenset()
) -> Family | None:
    """The family whose pipelines include `class_name` (from model_index.json), if any.

    Of the families that recognise the class, one whose `marker` is among the folder's
    `components` (its filled components and true settings) wins; a family with a marker the
    folder lacks is never chosen.
    """
    found = [f for f in FAMILIES.values() if class_name in f.recognise]
    marked = [f for f in found if f.marker is not None and f.marker in components]
    plain = [f for f in found if f.marker is None]
    chosen = marked or plain
    return chosen[0] if chosen else None
