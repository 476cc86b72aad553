"""What each window of a take starts from, whoever generates it.

One plan covers the whole shot (the record's windows). A window after the first may depend
on the one before: it is cross-faded over the frames they share and, where the windows are
chained, generated from them (or, image-to-video, from the previous window's last frame).

- Chained windows (the family can continue and the job did not ask for independent
  windows): each window's state is saved in the take (`take.carry`), so a farm chunk or a
  resume starts from the state the previous window left, exactly as a single local run
  holds it in memory.
- Independent windows: a window's pixels depend on nothing before it, so a run that starts
  mid-shot first generates the window (or windows) whose held-back frames it cross-fades
  with, writing none of them ("lead-in"). Any chunk can then run at any time.

Either way every frame is the frame one uninterrupted local run writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import InvalidField
from ..job import Format, FrameRange, GenerationJob
from ..take.carry import Carry, carry_path, read_carry
from ..take.record import TakeRecord, WindowRecord
from .arguments import CONDITIONS_ON_PREVIOUS, window_class


def chained(job: GenerationJob, pipeline_class: str, strength: float) -> bool:
    """True when each window is generated from the previous window's frames."""
    rule = job.mode.rule
    if job.independent_windows or (rule.plate_frames and strength == 0.0):
        return False
    return rule.start_frame or window_class(pipeline_class, True) in CONDITIONS_ON_PREVIOUS


def needs_previous(windows: Sequence[WindowRecord], index: int, start_frame: bool) -> bool:
    """Window `index` starts from the state of the one before: it overlaps it, or
    (image-to-video) starts from its last frame."""
    if not 0 < index < len(windows):
        return False
    return start_frame or windows[index].first <= windows[index - 1].last


def held(windows: Sequence[WindowRecord], index: int) -> int:
    """Frames window `index` holds back for the next window's cross-fade."""
    if index + 1 >= len(windows):
        return 0
    return max(0, windows[index].last - windows[index + 1].first + 1)


@dataclass(frozen=True)
class Segment:
    """Consecutive windows of the record, by index: `lead_in` are generated for their state
    only, `run` are generated and written; `reads` is the window whose saved state the
    first of them starts from."""

    lead_in: tuple[int, ...]
    run: tuple[int, ...]
    reads: int | None


@dataclass(frozen=True)
class Chain:
    """How the windows of one take depend on each other."""

    windows: tuple[WindowRecord, ...]
    chained: bool
    start_frame: bool

    @classmethod
    def of(
        cls, job: GenerationJob, pipeline_class: str, strength: float, record: TakeRecord
    ) -> Chain:
        linked = chained(job, pipeline_class, strength)
        return cls(tuple(record.windows), linked, job.mode.rule.start_frame)

    def segments(self, windows: Sequence[WindowRecord]) -> list[Segment]:
        """`windows` (record windows, in order) as runs of consecutive windows, each with
        what it needs before it."""
        indices = sorted(self.windows.index(w) for w in windows)
        runs: list[list[int]] = []
        for index in indices:
            if runs and runs[-1][-1] == index - 1:
                runs[-1].append(index)
            else:
                runs.append([index])
        return [self._segment(tuple(run)) for run in runs]

    def _segment(self, run: tuple[int, ...]) -> Segment:
        start = run[0]
        if not needs_previous(self.windows, start, self.start_frame):
            return Segment((), run, None)
        if self.chained:
            return Segment((), run, start - 1)
        first = start - 1
        while needs_previous(self.windows, first, False) and (
            self.windows[first + 1].first <= self.windows[first - 1].last
        ):
            first -= 1
        return Segment(tuple(range(first, start)), run, None)

    def saves(self, index: int) -> bool:
        """Window `index` leaves its state in the take for the window after it."""
        return self.chained and needs_previous(self.windows, index + 1, self.start_frame)

    def owed(self, windows: Sequence[WindowRecord]) -> list[int]:
        """The windows among `windows` whose state the take should hold once they ran."""
        return [i for i in (self.windows.index(w) for w in windows) if self.saves(i)]

    def read(self, record: TakeRecord, index: int, size: Format) -> Carry | None:
        """The saved state of window `index` (frames of `size`), None when it has none."""
        window = self.windows[index]
        return read_carry(
            record.folder,
            window.first,
            window.last,
            record.job_hash,
            held(self.windows, index),
            (size.height, size.width),
        )

    def starting_states(
        self, record: TakeRecord, segments: list[Segment], size: Format, frames: FrameRange
    ) -> dict[int, Carry]:
        """The saved states the segments start from, read before any model loads; a
        missing one is refused, naming the chunk that leaves it."""
        states = {}
        for segment in segments:
            if segment.reads is None:
                continue
            state = self.read(record, segment.reads, size)
            if state is None:
                window = self.windows[segment.reads]
                path = carry_path(record.folder, window.first)
                raise InvalidField(
                    "frames",
                    str(frames),
                    f"frames whose previous window has left its state in the take: window "
                    f"{window.first}-{window.last}{_chunk_named(record, window)} has not "
                    f"written {path.parent.name}/{path.name} yet (run it first; the windows "
                    "of this take are chained)",
                )
            states[segment.reads] = state
        return states


def _chunk_named(record: TakeRecord, window: WindowRecord) -> str:
    for chunk in record.chunks:
        if window.first in chunk:
            return f" (chunk {chunk})"
    return ""
