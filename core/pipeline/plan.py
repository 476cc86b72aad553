"""From a validated job and a resolved model to the exact numbers the pipeline will run with.

A frame count or size the model cannot take is generated at the next legal one and then
trimmed or resized back, so the take always holds exactly what the job asked for. A range
longer than the model's window is generated in overlapping windows.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InvalidField
from ..job import Format, GenerationJob
from ..models.resolve import ModelSource
from .windows import Span, split, window_length


@dataclass(frozen=True)
class Plan:
    """What will be generated, window by window, and how it maps back onto what was asked for."""

    pipeline_class: str
    windows: tuple[Span, ...]
    generated_size: Format
    output_format: Format
    steps: int
    guidance: float
    fps: float
    strength: float
    window: int
    overlap: int

    @property
    def generated_frames(self) -> int:
        """Frames of the longest window (what one pipeline call generates at most)."""
        return max(span.generated for span in self.windows)


def make_plan(
    job: GenerationJob,
    model: ModelSource,
    generated_size: Format | None = None,
    output_format: Format | None = None,
) -> Plan:
    """The plan of a job on a model; a plate's canvas gives the sizes, else the job does.

    A range longer than one generation is split into overlapping windows (`pipeline.windows`).
    """
    family = model.family
    pipeline_class = family.pipeline_for(job.mode, model.index_class)
    output_format = output_format or job.format or Format(*family.default_size)
    window = window_length(family, job.window)
    if job.overlap is not None and job.overlap >= window:
        raise InvalidField("overlap", job.overlap, f"fewer frames than the window ({window})")
    overlap = job.overlap if job.overlap is not None else min(family.overlap, (window - 1) // 2)
    strength = job.strength if job.strength is not None else job.mode.rule.default_strength
    if strength is None:
        strength = 1.0
    return Plan(
        pipeline_class=pipeline_class,
        windows=split(len(job.frames), window, overlap, family),
        generated_size=generated_size or family.legal_size(output_format),
        output_format=output_format,
        steps=job.steps if job.steps is not None else family.default_steps,
        guidance=job.guidance if job.guidance is not None else family.default_guidance,
        fps=job.fps if job.fps is not None else family.native_fps,
        strength=strength,
        window=window,
        overlap=overlap,
    )
