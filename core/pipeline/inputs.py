"""What one generation window hands its pipeline: plate, mask and start frames in model space."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..take.record import WindowRecord
from .arguments import WindowInputs
from .canvas import PlateCanvas
from .prepare import Prepared


def window_inputs(
    prepared: Prepared,
    window: WindowRecord,
    previous: np.ndarray | None,
    last: np.ndarray | None,
) -> WindowInputs:
    """The window's inputs; `previous` are the frames it overlaps, `last` the shot's last so far.

    Those frames may carry the model's alpha as a fourth channel: only their colour
    conditions the window.
    """
    job, plan, canvas = prepared.job, prepared.plan, prepared.canvas
    previous = None if previous is None else previous[..., :3]
    last = None if last is None else last[..., :3]
    rule = job.mode.rule
    plate = mask = image = None
    if isinstance(canvas, PlateCanvas):
        frames = [min(window.first + i, job.frames.last) for i in range(window.generated)]
        if rule.plate_frames:
            plate = _stack(canvas.model_frame, frames)
            if rule.needs_mask:
                mask = _stack(canvas.model_mask, frames)
        if rule.start_frame and window.first == job.frames.first:
            start = job.condition_frame if job.condition_frame is not None else job.frames.first
            image = canvas.model_frame(start)
    if rule.start_frame and image is None and previous is None:
        image = last
    return WindowInputs(
        prompt=job.effective_prompt,
        negative_prompt=job.negative_prompt,
        frames=window.generated,
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
