"""Which process writes a take, and whether it is still alive.

A record names the host and process that write it; a reader on the same host can then
tell a live run from one that was killed (power cut, `kill -9`, a crashed host process).
The process's start time guards against a later process that reused its id.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass


@dataclass(frozen=True)
class Writer:
    """The process that writes a take: host name, process id and its start time (or "")."""

    host: str
    pid: int
    started: str

    @classmethod
    def this(cls) -> Writer:
        return cls(platform.node(), os.getpid(), start_time(os.getpid()))

    @property
    def local(self) -> bool:
        """True when the process ran on this host and its id is known, so it can be asked."""
        return self.host == platform.node() and self.pid > 0

    def gone(self) -> bool:
        """True when this process has certainly ended; False when alive or on another host."""
        if not self.local:
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except OSError:
            return False
        return bool(self.started) and start_time(self.pid) not in ("", self.started)


def start_time(pid: int) -> str:
    """When process `pid` started, in clock ticks since boot (Linux), else ""."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return ""
    return fields[19] if len(fields) > 19 else ""
