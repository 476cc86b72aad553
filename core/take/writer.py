"""Writing a take's frames on every core while the next window generates.

Each frame is written under a temporary name and renamed into place (`media.exr`), with
the provenance its take record gives it. At most the frames of two windows are queued:
submitting a window first waits for the one before the last, so a long shot never piles
up frames in memory.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import Cancelled
from ..events import CancelToken, EventSink, FrameWritten, Progress
from ..media.exr import AttributeValue, write_exr
from .record import TakeRecord

Element = Callable[[int, np.ndarray], np.ndarray]
"""(frame number, model-space pixels) -> the (H, W, 4) premultiplied frame to write."""


@dataclass(frozen=True)
class FrameFormat:
    """How a take's frames are stored."""

    compression: str
    pixel_type: str
    origin: tuple[int, int] = (0, 0)
    pixel_aspect: float | None = None


class FrameWriter:
    """Turns model output into the take's frames, in the background."""

    def __init__(
        self,
        record: TakeRecord,
        element: Element,
        storage: FrameFormat,
        on_event: EventSink,
        cancel: CancelToken,
        steps: int,
        frames_total: int,
    ) -> None:
        self.record = record
        self.take = record.take
        self.element = element
        self.storage = storage
        self.on_event = on_event
        self.cancel = cancel
        self.steps = steps
        self.frames_total = frames_total
        self.done = 0
        self.batches: list[list[tuple[int, Future[Path]]]] = []
        workers = max(1, os.cpu_count() or 1)
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="genvfx-write")

    def submit(self, first_frame: int, pixels: np.ndarray) -> None:
        """Queue frames first_frame, first_frame + 1, ... (one per image in `pixels`)."""
        batch = []
        for offset in range(len(pixels)):
            frame = first_frame + offset
            batch.append((frame, self.pool.submit(self._write, frame, pixels[offset])))
        self.batches.append(batch)
        while len(self.batches) > 1:
            self._drain(self.batches.pop(0))

    def finish(self) -> None:
        while self.batches:
            self._drain(self.batches.pop(0))

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def _drain(self, batch: list[tuple[int, Future[Path]]]) -> None:
        for frame, future in batch:
            path = future.result()
            self.done += 1
            self.on_event(FrameWritten(frame, str(path)))
            self.on_event(Progress(self.steps, self.steps, self.done, self.frames_total))

    def _write(self, frame: int, pixels: np.ndarray) -> Path:
        path = self.take.frame_path(frame, self.record.last)
        if self.cancel.cancelled:
            raise Cancelled("cancelled while writing frames")
        if path.is_file():
            return path
        rgba = self.element(frame, pixels)
        attributes: dict[str, AttributeValue] = dict(self.record.provenance(frame))
        if self.storage.pixel_aspect is not None:
            attributes["PixelAspectRatio"] = float(self.storage.pixel_aspect)
        write_exr(
            path,
            rgba,
            self.storage.compression,
            self.storage.pixel_type,
            attributes,
            self.storage.origin,
        )
        return path
