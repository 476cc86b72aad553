"""A take written on another host reads `interrupted` once its heartbeat has stopped.

A reader cannot ask another machine whether a process lives; the writer touches the take's
`.heartbeat` while it runs, and a `running` take silent for longer than `STALE_AFTER` is one
whose process has gone.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from conftest import genvfx_command

from genvfx.events import ignore
from genvfx.job import GenerationJob
from genvfx.pipeline.engine import generate
from genvfx.take.heartbeat import HEARTBEAT, STALE_AFTER, Heartbeat
from genvfx.take.record import TakeRecord


def small_take(out: Path, on_event: Callable[[object], None] = ignore) -> Path:
    job = GenerationJob.from_dict(
        {
            "prompt": "dust drifting",
            "model": "builtin:tiny-wan",
            "frames": "1001-1005",
            "format": "32x32",
            "model_size": "32x32",
            "steps": 1,
            "seed": 3,
            "output_root": str(out),
            "name": "dust",
        }
    )
    return Path(generate(job, on_event=on_event).take_dir)


def as_if_running_elsewhere(folder: Path, silent: float) -> None:
    """What a shared file system shows of a take whose farm host lost power `silent` s ago."""
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest.update(status="running", complete=False, frames=[], host="render-node-17", pid=4242)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    then = time.time() - silent
    (folder / HEARTBEAT).touch()
    for name in ("manifest.json", HEARTBEAT):
        os.utime(folder / name, (then, then))


def test_a_run_beats_while_it_generates_and_leaves_no_heartbeat_behind(tmp_path: Path) -> None:
    seen: list[float] = []

    def on_event(event: object) -> None:
        if getattr(event, "stage", "") == "generate":
            beat = next(tmp_path.glob("dust/v*")) / HEARTBEAT
            seen.append(time.time() - beat.stat().st_mtime)

    folder = small_take(tmp_path, on_event)
    assert seen and all(age < 60 for age in seen)
    assert not (folder / HEARTBEAT).exists()


def test_another_hosts_take_reads_running_while_it_beats_and_interrupted_after(
    tmp_path: Path,
) -> None:
    folder = small_take(tmp_path)
    as_if_running_elsewhere(folder, silent=STALE_AFTER / 2)
    assert TakeRecord.read(folder).status == "running"

    as_if_running_elsewhere(folder, silent=STALE_AFTER + 60)
    assert TakeRecord.read(folder).status == "interrupted"
    listed = subprocess.run(
        [*genvfx_command(), "takes", str(tmp_path), "--json"], capture_output=True, text=True
    )
    assert listed.returncode == 0, listed.stderr
    assert [row["status"] for row in json.loads(listed.stdout)] == ["interrupted"]

    with Heartbeat(folder, interval=60):
        assert TakeRecord.read(folder).status == "running"


def test_the_heartbeat_beats_until_the_run_ends(tmp_path: Path) -> None:
    beats: list[float] = []
    with Heartbeat(tmp_path, interval=0.05):
        for _ in range(6):
            time.sleep(0.05)
            beats.append((tmp_path / HEARTBEAT).stat().st_mtime_ns)
    assert len(set(beats)) >= 2
    time.sleep(0.2)
    assert not (tmp_path / HEARTBEAT).exists()
