"""`genvfx resume` and interrupted takes, on the tiny built-in Wan model.

A resumed take must hold exactly the pixels of an uninterrupted run of the same job, and a
take whose process died must never read as running.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import genvfx_command

from genvfx.errors import InvalidField
from genvfx.job import GenerationJob
from genvfx.pipeline.engine import generate
from genvfx.pipeline.resume import resume
from genvfx.take.record import TakeRecord


def job_data(out: Path, name: str, **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "prompt": "a long smoke trail",
        "model": "builtin:tiny-wan",
        "frames": "1001-1020",
        "format": "48x48",
        "model_size": "32x32",
        "steps": 1,
        "seed": 11,
        "window": 9,
        "overlap": 2,
        "output_root": str(out),
        "name": name,
    }
    data.update(fields)
    return data


def pixels(folder: Path) -> dict[str, np.ndarray]:
    import OpenImageIO as oiio

    found = {}
    for path in sorted(folder.glob("*.exr")):
        found[path.name.split(".", 1)[1]] = oiio.ImageBuf(str(path)).get_pixels(oiio.HALF)
    return found


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def interrupt(folder: Path, delete: list[int], pid: int) -> None:
    """What a kill leaves: some frames missing, a partial frame, a `running` record."""
    for frame in delete:
        (folder / f"{folder.parent.name}_{folder.name}.{frame}.exr").unlink()
    (folder / f".{folder.parent.name}_{folder.name}.{delete[0]}.exr.partial-{pid}.exr").write_bytes(
        b""
    )
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest.update(status="running", complete=False, frames=[], finished=None, pid=pid)
    (folder / "manifest.json").write_text(json.dumps(manifest))


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    out = tmp_path_factory.mktemp("reference")
    done = generate(GenerationJob.from_dict(job_data(out, "ref")))
    return pixels(Path(done.take_dir))


def test_a_dead_runs_take_reads_interrupted_and_resumes_to_the_same_pixels(
    tmp_path: Path, reference: dict[str, np.ndarray]
) -> None:
    done = generate(GenerationJob.from_dict(job_data(tmp_path, "take")))
    folder = Path(done.take_dir)
    interrupt(folder, [1002, 1005, 1006], dead_pid())
    assert TakeRecord.read(folder).status == "interrupted"

    listed = subprocess.run(
        [*genvfx_command(), "takes", str(tmp_path), "--json"], capture_output=True, text=True
    )
    assert listed.returncode == 0, listed.stderr
    [row] = json.loads(listed.stdout)
    assert (row["status"], row["frames_found"], row["frames_expected"]) == ("interrupted", 17, 20)

    stages: list[Any] = []
    resume(folder, on_event=stages.append)
    record = TakeRecord.read(folder)
    assert record.status == "complete"
    assert not list(folder.glob(".*partial*"))
    generated = [e.message for e in stages if getattr(e, "stage", "") == "generate"]
    assert generated == ["window 1/1: frames 1001-1009, 9 frames at 32x32"]
    resumed = pixels(folder)
    assert resumed.keys() == reference.keys()
    for frame, image in reference.items():
        assert np.array_equal(resumed[frame], image), f"frame {frame} differs"


def test_a_live_take_or_a_changed_job_is_refused(tmp_path: Path) -> None:
    done = generate(GenerationJob.from_dict(job_data(tmp_path, "take", frames="1001-1009")))
    folder = Path(done.take_dir)
    interrupt(folder, [1005], pid=os.getpid())
    assert TakeRecord.read(folder).status == "running"
    with pytest.raises(InvalidField, match="run has ended"):
        resume(folder)

    interrupt(folder, [1006], dead_pid())
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["job"]["prompt"] = "something else"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    refused = subprocess.run(
        [*genvfx_command(), "resume", str(folder)], capture_output=True, text=True
    )
    assert refused.returncode == 2, refused.stderr
    assert "job is unchanged" in refused.stderr and "Traceback" not in refused.stderr


def test_kill_9_at_a_random_moment_then_resume_gives_the_uninterrupted_pixels(
    tmp_path: Path, reference: dict[str, np.ndarray]
) -> None:
    moment = random.Random(14).uniform(0.0, 0.8)
    job = tmp_path / "job.json"
    job.write_text(json.dumps(job_data(tmp_path, "killed")))
    process = subprocess.Popen(
        [*genvfx_command(), "generate", "--job", str(job)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    folder = tmp_path / "killed" / "v001"
    while not (folder / "manifest.json").is_file() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(moment)
    process.kill()
    process.wait()
    assert TakeRecord.read(folder).status == "interrupted"
    resumed = subprocess.run(
        [*genvfx_command(), "resume", str(folder)], capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr
    assert TakeRecord.read(folder).status == "complete"
    result = pixels(folder)
    assert result.keys() == reference.keys()
    assert all(np.array_equal(result[f], reference[f]) for f in reference)


def test_a_farm_take_resumes_only_the_windows_of_missing_frames(tmp_path: Path) -> None:
    """Independent windows (tiny Wan text-to-video is only cross-faded): a missing frame's
    window runs again after the window it cross-fades with, which writes nothing."""
    from genvfx.farm import tasks as farm

    job = GenerationJob.from_dict(job_data(tmp_path, "farm"))
    take, _gpu = farm.reserve(job, chunk=9)
    record = TakeRecord.read(take.folder)
    assert [str(c) for c in record.chunks] == ["1001-1007", "1008-1014", "1015-1020"]
    for chunk in record.chunks:
        generate(
            GenerationJob.from_json((take.folder / farm.JOB_FILE).read_text()).replace(
                frames=str(chunk)
            ),
            take=take,
        )
    before = pixels(take.folder)
    for frame in (1012, 1019):
        (take.folder / f"farm_v001.{frame}.exr").unlink()
    stages: list[Any] = []
    resume(take.folder, on_event=stages.append)
    generated = [e.message for e in stages if getattr(e, "stage", "") == "generate"]
    assert generated == [
        "window 1/3: frames 1001-1009, 9 frames at 32x32 "
        "(for the next window to start from; not written)",
        "window 2/3: frames 1008-1016, 9 frames at 32x32",
        "window 3/3: frames 1015-1020, 9 frames at 32x32",
    ]
    assert TakeRecord.read(take.folder).status == "complete"
    after = pixels(take.folder)
    assert after.keys() == before.keys()
    assert all(np.array_equal(after[f], before[f]) for f in before)
