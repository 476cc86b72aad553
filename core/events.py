"""What a running job reports: one small value type per kind of event, JSON-ready."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Stage:
    """A coarse step: resolving, loading, generating, writing."""

    stage: str
    message: str = ""
    kind: str = "stage"


@dataclass(frozen=True)
class Progress:
    """One denoising step finished (frames_done counts frames on disk)."""

    step: int
    total_steps: int
    frames_done: int
    frames_total: int
    kind: str = "progress"


@dataclass(frozen=True)
class FrameWritten:
    frame: int
    path: str
    kind: str = "frame"


@dataclass(frozen=True)
class Done:
    take_dir: str
    version: str
    frames: list[str]
    manifest: str
    model_loaded: bool
    kind: str = "done"


Event = Stage | Progress | FrameWritten | Done
EventSink = Callable[[Event], None]


def event_dict(event: Event) -> dict[str, Any]:
    data = dataclasses.asdict(event)
    data["event"] = data.pop("kind")
    return data


def ignore(_: Event) -> None:
    return None


class CancelToken:
    """Set from any thread (Ctrl-C handler, worker's cancel op); checked once per step."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()
