"""A running take's sign of life, readable from any host.

The process writing a take touches `.heartbeat` in the take's folder every `INTERVAL`
seconds. A reader on the writer's own host asks the operating system whether that process
is alive (`process.Writer.gone`); a reader elsewhere (a farm monitor, a compositor's
workstation on the shared file system) cannot, so it reads a `running` take whose folder
has shown no sign of life (heartbeat or manifest) for `STALE_AFTER` seconds as interrupted.
`STALE_AFTER` is ten beats, so a clock skew of a few minutes between hosts or a slow file
server does not make a live run look dead.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path
from types import TracebackType

HEARTBEAT = ".heartbeat"
INTERVAL = 30.0
STALE_AFTER = 10 * INTERVAL


def beat(folder: Path) -> None:
    """Touch the take's heartbeat now; a file system that refuses is not an error here."""
    path = Path(folder) / HEARTBEAT
    with contextlib.suppress(OSError):
        path.touch()
        os.utime(path)


def silent_for(folder: Path, now: float | None = None) -> float | None:
    """Seconds since the take's folder last showed a sign of life; None when it shows none."""
    folder = Path(folder)
    times = []
    for name in (HEARTBEAT, "manifest.json"):
        with contextlib.suppress(OSError):
            times.append((folder / name).stat().st_mtime)
    if not times:
        return None
    return (time.time() if now is None else now) - max(times)


def stale(folder: Path) -> bool:
    """True when the take's folder has been silent longer than `STALE_AFTER`."""
    silence = silent_for(folder)
    return silence is not None and silence > STALE_AFTER


class Heartbeat:
    """Beats for a take's folder from a background thread while the `with` block runs; the
    file goes when the run ends (its record then says how), leaving a finished take clean."""

    def __init__(self, folder: Path, interval: float = INTERVAL) -> None:
        self.folder = Path(folder)
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="genvfx-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        beat(self.folder)
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        with contextlib.suppress(OSError):
            (self.folder / HEARTBEAT).unlink()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            beat(self.folder)
