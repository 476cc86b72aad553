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
from pathlib import Path

from conftest import genvfx_command

from genvfx.job import GenerationJob
from genvfx.pipeline.engine import generate
from genvfx.take.heartbeat import HEARTBEAT, STALE_AFTER, Heartbeat, silent_for
from genvfx.take.record import TakeRecord


def small_take(out: Path) -> Path:
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
    return Path(generate(job).take_dir)


def as_if_running_elsewhere(folder: Path, silent: float) -> None:
    """What a shared file system shows of a take whose farm host lost power `silent` s ago."""
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest.update(status="running", complete=False, frames=[], host="render-node-17", pid=4242)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    then = time.time() - silent
    for name in ("manifest.json", HEARTBEAT):
        os.utime(folder / name, (then, then))


def test_a_generated_take_has_a_heartbeat(tmp_path: Path) -> None:
    folder = small_take(tmp_path)
    silence = silent_for(folder)
    assert (folder / HEARTBEAT).is_file()
    assert silence is not None and silence < 60


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

    Heartbeat(folder, interval=60).__enter__().__exit__(None, None, None)
    assert TakeRecord.read(folder).status == "running"


def test_the_heartbeat_beats_until_the_run_ends(tmp_path: Path) -> None:
    beats: list[float] = []
    with Heartbeat(tmp_path, interval=0.05):
        for _ in range(6):
            time.sleep(0.05)
            beats.append((tmp_path / HEARTBEAT).stat().st_mtime_ns)
    assert len(set(beats)) >= 2
    ended = (tmp_path / HEARTBEAT).stat().st_mtime_ns
    time.sleep(0.2)
    assert (tmp_path / HEARTBEAT).stat().st_mtime_ns == ended
