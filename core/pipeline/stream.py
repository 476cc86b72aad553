"""One window's frames, from the pipeline to the writer as the VAE decodes them.

`decoded_groups` runs the denoising with `output_type="latent"` and decodes with the
family's decoder (`pipeline.decode`), yielding frames a few at a time; where there is no such
decoder it yields the pipeline's whole `np` output once. `WindowFrames` takes those groups in
order and does what the engine does with a whole window: cross-fades the frames the previous
window overlaps, hands every frame the next window does not overlap to the writer, holds
back the ones it does, and keeps the last frame (the next window may start from it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from ..errors import Cancelled, RuntimeFailure
from ..events import CancelToken
from ..models.devices import DeviceChoice
from .decode import decoder_for
from .inference import denoise, out_of_memory, run_pipeline
from .windows import blend

WRITE_BATCH = 8
"""Frames handed to the writer at a time: enough to keep its cores busy (it holds two
batches), few enough that a 4K window is never held whole."""


def decoded_groups(
    pipe: Any,
    arguments: Mapping[str, Any],
    seed: int,
    choice: DeviceChoice,
    cancel: CancelToken,
    on_step: Callable[[int, int], None],
) -> Iterator[np.ndarray]:
    """The window's frames (n, H, W, 3) float32 in [0, 1], in order, as they are decoded."""
    import torch

    decoder = decoder_for(pipe, arguments)
    if decoder is None:
        yield run_pipeline(pipe, arguments, seed, choice, cancel, on_step)
        return
    generator = torch.Generator(device="cpu").manual_seed(seed)
    latents = denoise(pipe, arguments, generator, choice, cancel, on_step, "latent").frames
    groups = decoder(pipe, latents, arguments, generator)
    try:
        while True:
            if cancel.cancelled:
                raise Cancelled("cancelled while the window decoded")
            with out_of_memory(choice):
                group = next(groups, None)
            if group is None:
                break
            yield group
    finally:
        groups.close()
        if hasattr(pipe, "maybe_free_model_hooks"):
            pipe.maybe_free_model_hooks()


class WindowFrames:
    """One window's frames arriving in order, on their way to the writer.

    `count` frames belong to the window (a pipeline may return more: they are dropped);
    the first `len(carry)` are cross-faded with the previous window's held-back frames; the
    first `ready` are handed to `submit(first_frame, frames)` in batches; the rest are held
    for the next window.
    """

    def __init__(
        self,
        first: int,
        count: int,
        ready: int,
        carry: np.ndarray | None,
        submit: Callable[[int, np.ndarray], None],
    ) -> None:
        self.first = first
        self.count = count
        self.ready = ready
        self.carry = carry
        self.submit = submit
        self.received = 0
        self.sent = 0
        self.pending: list[np.ndarray] = []
        self.held: list[np.ndarray] = []
        self.last: np.ndarray | None = None

    def add(self, group: np.ndarray) -> None:
        """The next frames of the window, in order."""
        group = np.asarray(group[: self.count - self.received], dtype=np.float32)
        if len(group) == 0:
            return
        start = self.received
        self.received += len(group)
        if self.carry is not None and start < len(self.carry):
            group = group.copy()
            faded = min(len(self.carry) - start, len(group))
            group[:faded] = blend(self.carry, group[:faded], start)
        writable = max(0, min(len(group), self.ready - start))
        if writable:
            self.pending.append(group[:writable])
        if writable < len(group):
            self.held.append(group[writable:].copy())
        self.last = group[-1]
        if sum(len(p) for p in self.pending) >= WRITE_BATCH or self.received >= self.ready:
            self._flush()

    def finish(self, name: str, expected: int) -> tuple[np.ndarray | None, np.ndarray]:
        """(frames held back for the next window or None, the window's last frame)."""
        if self.received < self.count or self.last is None:
            raise RuntimeFailure(
                f"{name} returned {self.received} frames; expected {expected} "
                f"(the window needs {self.count})"
            )
        self._flush()
        carry = np.concatenate(self.held) if self.held else None
        return carry, self.last.copy()

    def _flush(self) -> None:
        if not self.pending:
            return
        frames = self.pending[0] if len(self.pending) == 1 else np.concatenate(self.pending)
        self.pending = []
        self.submit(self.first + self.sent, frames)
        self.sent += len(frames)
