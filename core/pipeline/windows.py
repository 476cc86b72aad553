"""Long shots as a sequence of overlapping windows, each a length the model can generate.

A window covers `count` frames of the shot and is generated at the next legal frame count
(then trimmed). Each window after the first starts `overlap` frames before the previous one
ends: it is conditioned on those frames where its pipeline allows it, and the two
generations are cross-faded over them with weights that rise smoothly from 0 to 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidField
from ..models.catalogue import Family


@dataclass(frozen=True)
class Span:
    """One window: shot frames [start, start + count), generated as `generated` frames."""

    start: int
    count: int
    generated: int
    overlap: int

    @property
    def end(self) -> int:
        return self.start + self.count


def window_length(family: Family, wanted: int | None) -> int:
    """The job's window (a legal frame count within the family's limit), else the limit."""
    if wanted is None:
        return family.max_frames
    if not family.is_legal_frame_count(wanted) or wanted > family.max_frames:
        step = family.frame_step
        raise InvalidField(
            "window",
            wanted,
            f"a frame count of the form {step}k+1 from 1 to {family.max_frames} for {family.label} "
            f"(e.g. {family.legal_frame_count(min(wanted, family.max_frames))})",
        )
    return wanted


def split(total: int, window: int, overlap: int, family: Family) -> tuple[Span, ...]:
    """Windows covering `total` frames; the last one may be shorter (padded to a legal count)."""
    if overlap >= window:
        raise InvalidField("overlap", overlap, f"fewer frames than the window ({window})")
    spans: list[Span] = []
    start, lead = 0, 0
    while True:
        count = min(window, total - start)
        spans.append(Span(start, count, family.legal_frame_count(count), lead))
        if start + count >= total:
            return tuple(spans)
        lead = min(overlap, count - 1)
        start = start + count - lead


def crossfade(overlap: int) -> np.ndarray:
    """Weights of the newer window over the overlap: a raised cosine strictly inside (0, 1)."""
    steps = np.arange(1, overlap + 1, dtype=np.float64) / (overlap + 1)
    return (0.5 - 0.5 * np.cos(math.pi * steps)).astype(np.float32)


def blend(previous: np.ndarray, current: np.ndarray, start: int = 0) -> np.ndarray:
    """Cross-fade the previous window's last frames into the current window's first ones.

    `current` may be part of the overlap: its frames `start`, `start + 1`, ... of it.
    """
    weights = crossfade(len(previous))[start : start + len(current), None, None, None]
    previous = previous[start : start + len(current)]
    return (previous * (1.0 - weights) + current * weights).astype(np.float32)
