"""From a validated job and a resolved model to the exact numbers the pipeline will run with.

A frame count or size the model cannot take is generated at the next legal one and then
trimmed or resized back, so the take always holds exactly what the job asked for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.catalogue import Family
from core.errors import InvalidField
from core.job import Format, GenerationJob
from core.models import ModelSource


@dataclass(frozen=True)
class Plan:
    """What will be generated, and how it maps back onto what was asked for."""

    pipeline_class: str
    generated_frames: int
    generated_size: Format
    output_format: Format
    steps: int
    guidance: float
    fps: float

    @property
    def needs_resize(self) -> bool:
        return self.generated_size != self.output_format


def legal_size(family: Family, wanted: Format) -> Format:
    """A size the family accepts, of (nearly) the same aspect, within its pixel budget."""
    m = family.spatial_multiple
    scale = min(1.0, math.sqrt(family.max_pixels / (wanted.width * wanted.height)))
    target_w, target_h = wanted.width * scale, wanted.height * scale
    best: tuple[float, Format] | None = None
    low = max(1, math.floor(target_h / m) - 2)
    for k in range(low, math.ceil(target_h / m) + 3):
        h = k * m
        w = max(m, round(h * wanted.aspect / m) * m)
        if w * h > family.max_pixels * 1.05:
            continue
        aspect_error = abs(math.log((w / h) / wanted.aspect))
        size_error = abs(math.log((w * h) / (target_w * target_h)))
        score = aspect_error * 4 + size_error
        if best is None or score < best[0]:
            best = (score, Format(w, h))
    if best is None:
        return Format(m, m)
    return best[1]


def make_plan(job: GenerationJob, model: ModelSource) -> Plan:
    family = model.family
    pipeline_class = family.pipeline_for(job.mode)
    wanted_frames = len(job.frames)
    if wanted_frames > family.max_frames:
        raise InvalidField(
            "frames",
            str(job.frames),
            f"at most {family.max_frames} frames in one generation for {family.label}",
        )
    output_format = job.format or Format(*family.default_size)
    return Plan(
        pipeline_class=pipeline_class,
        generated_frames=family.legal_frame_count(wanted_frames),
        generated_size=legal_size(family, output_format),
        output_format=output_format,
        steps=job.steps if job.steps is not None else family.default_steps,
        guidance=job.guidance if job.guidance is not None else family.default_guidance,
        fps=job.fps if job.fps is not None else family.native_fps,
    )
