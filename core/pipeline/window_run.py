"""Generating a take's windows in order: inputs, cross-fades, frames out, states saved.

Each window starts from the state the window before it left (held in memory, or read from
the take for the first window of a run: see `pipeline.chain`), is cross-faded over the frames
they share, hands its finished frames to the writer at once and, where the next window is
chained to it, saves its own state in the take once it is whole.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from collections.abc import Generator as GeneratorType

import numpy as np

from ..errors import Cancelled
from ..events import CancelToken, EventSink, Stage
from ..take.carry import Carry, save_carry
from ..take.record import TakeRecord, WindowRecord
from ..take.writer import FrameWriter
from .arguments import WindowInputs, window_class
from .chain import Chain, Segment, held
from .inputs import window_inputs
from .prepare import Prepared
from .stream import WindowFrames

Generator = Callable[[WindowRecord, WindowInputs], GeneratorType[np.ndarray, None, None]]
"""(window, its inputs) -> its frames (n, h, w, c), in order, as they are decoded."""


def run_segments(
    prepared: Prepared,
    record: TakeRecord | None,
    chain: Chain,
    segments: list[Segment],
    states: dict[int, Carry],
    writer: FrameWriter,
    on_event: EventSink,
    cancel: CancelToken,
    generate: Generator,
) -> None:
    """Generate the segments window after window (`states`: the saved states they start
    from; `record`: the take chained windows save theirs in, None to save none). Only the frames the next window overlaps are held back, so memory holds about
    one window whatever the length of the shot."""
    size = prepared.plan.generated_size
    total = sum(len(s.lead_in) + len(s.run) for s in segments)
    number = 0
    for segment in segments:
        state = states[segment.reads] if segment.reads is not None else None
        for index in segment.lead_in + segment.run:
            number += 1
            if cancel.cancelled:
                raise Cancelled(f"cancelled before window {number} of {total}")
            window = chain.windows[index]
            write = index in segment.run
            role = "" if write else " (for the next window to start from; not written)"
            on_event(
                Stage(
                    "generate",
                    f"window {number}/{total}: frames {window.first}-{window.last}, "
                    f"{window.generated} frames at {size}{role}",
                )
            )
            state = _window(prepared, record, chain, index, state, write, writer, generate)


def _window(
    prepared: Prepared,
    record: TakeRecord | None,
    chain: Chain,
    index: int,
    state: Carry | None,
    write: bool,
    writer: FrameWriter,
    generate: Generator,
) -> Carry:
    """One window from the state before it; the state it leaves.

    Frames reach the writer as they are decoded; the state is saved once the window is
    whole. A run killed in between leaves frames without the state, and a resume then
    generates this window again for it (`resume.windows_to_run`).
    """
    window = chain.windows[index]
    count = window.last - window.first + 1
    linked = state if chain.chained else None
    inputs = window_inputs(
        prepared,
        window,
        linked.previous if linked else None,
        linked.last if linked else None,
    )
    frames = WindowFrames(
        window.first,
        count,
        count - held(chain.windows, index),
        state.previous if state is not None else None,
        writer.submit if write else _discard,
    )
    groups = generate(window, inputs)
    with contextlib.closing(groups):
        for group in groups:
            frames.add(group)
    name = window_class(prepared.plan.pipeline_class, continues=inputs.previous is not None)
    kept, last = frames.finish(name, window.generated)
    left = Carry(kept if kept is not None else np.empty((0, *last.shape), np.float32), last)
    if write and record is not None and chain.saves(index):
        save_carry(record.folder, window.first, window.last, record.job_hash, left)
    return left


def _discard(first: int, frames: np.ndarray) -> None:
    """A lead-in window's frames: generated for its state only, never written."""
