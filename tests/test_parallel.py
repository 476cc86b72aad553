"""Several GPUs for one take: the refusals, and real ranks on the CPU over gloo.

This machine has no GPU: the ranks run with the test-only switch GENVFX_TEST_PARALLEL=gloo,
which runs diffusers' real context parallelism (Ulysses) of the tiny Wan transformer on two
CPU processes. What only a GPU machine can show (nccl, one GPU per rank, ring attention,
the speed-up) is not tested here.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import OpenImageIO as oiio
import pytest
from conftest import genvfx_command

from genvfx.cli.main import main
from genvfx.errors import InvalidField
from genvfx.farm.template import template
from genvfx.job import FrameRange, GenerationJob
from genvfx.pipeline.parallel import RANK_MARK, TEST_SWITCH, check_devices
from genvfx.take.folder import Take

SMALL = ["--format", "64x64", "--frames", "1-9", "--seed", "5", "--prompt", "dust"]


def job_dict(out: Path, **fields: Any) -> dict[str, Any]:
    return {
        "prompt": "dust",
        "model": "builtin:tiny-wan",
        "frames": "1-9",
        "format": "64x64",
        "output_root": str(out),
        "name": "el",
        **fields,
    }


@pytest.mark.parametrize("value", [0, -1, 65, "2", True, 1.5])
def test_gpus_is_a_count_from_1_to_64(value: Any) -> None:
    with pytest.raises(InvalidField, match="gpus"):
        GenerationJob.from_dict(job_dict(Path("/t"), gpus=value))
    assert GenerationJob.from_dict(job_dict(Path("/t"), gpus=4)).gpus == 4


def test_the_machine_must_have_the_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TEST_SWITCH, raising=False)
    with pytest.raises(InvalidField, match=r"gpus.*at most the 2 CUDA device"):
        check_devices(4, None, ["0", "1"])
    with pytest.raises(InvalidField, match=r"gpus.*none: several GPUs need CUDA"):
        check_devices(2, None, [])
    for device in ("cpu", "mps", "cuda:1"):
        with pytest.raises(InvalidField, match=rf"gpus.*1 on device {device}"):
            check_devices(2, device, ["0", "1"])
    check_devices(2, "cuda", ["0", "1"])
    check_devices(1, "cpu", [])


@pytest.mark.parametrize(
    ("flags", "test_switch", "why"),
    [
        (["--model", "builtin:tiny-wan", "--gpus", "2"], False, "none: several GPUs need CUDA"),
        (["--model", "builtin:tiny-wan", "--gpus", "2", "--device", "cpu"], False, "device cpu"),
        (
            ["--model", "builtin:tiny-skyreels", "--gpus", "2"],
            True,
            "no context-parallel plan for SkyReelsV2Transformer3DModel",
        ),
        (["--model", "builtin:tiny-wan", "--gpus", "3"], True, "divides the model's 2 attention"),
    ],
)
def test_what_cannot_run_on_n_gpus_exits_2_naming_gpus_before_a_write(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    flags: list[str],
    test_switch: bool,
    why: str,
) -> None:
    if test_switch:
        monkeypatch.setenv(TEST_SWITCH, "gloo")
    else:
        monkeypatch.delenv(TEST_SWITCH, raising=False)
    out = tmp_path / "takes"
    assert main(["generate", *SMALL, *flags, "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert "error: gpus" in error and why in error and "Traceback" not in error
    assert not out.exists()


def test_heads_n_does_not_divide_go_round_a_ring_on_a_backend_that_can() -> None:
    from genvfx.models.builtin import ensure_builtin
    from genvfx.pipeline.parallel import ParallelPlan, check_plan

    folder = ensure_builtin("builtin:tiny-wan")
    assert check_plan(2, folder, None) == ParallelPlan(2, "ulysses", 2)
    assert check_plan(3, folder, "flash") == ParallelPlan(3, "ring", 2)
    with pytest.raises(InvalidField, match=r"gpus.*divides the model's 2 attention heads \(2\)"):
        check_plan(3, folder, "native")


def test_the_worker_refuses_several_gpus(tmp_path: Path) -> None:
    from genvfx.pipeline.engine import generate

    with pytest.raises(InvalidField, match=r"gpus.*genvfx generate --gpus N"):
        generate(GenerationJob.from_dict(job_dict(tmp_path, gpus=2)))
    assert list(tmp_path.iterdir()) == []


def test_a_farm_task_asks_for_the_jobs_gpus() -> None:
    job = GenerationJob.from_dict(job_dict(Path("/t"), gpus=4))
    chunks = [FrameRange(1, 5), FrameRange(6, 9)]
    for ordered in (False, True):
        document = template(job, Take(Path("/t"), "el", 1), chunks, ordered, "genvfx", 4096)
        generate_steps = [s for s in document["steps"] if s["name"] != "Complete"]
        assert len(generate_steps) == (2 if ordered else 1)
        for step in generate_steps:
            amounts = {a["name"]: a["min"] for a in step["hostRequirements"]["amounts"]}
            assert amounts == {"amount.worker.gpu": 4, "amount.worker.gpu.memory": 4096}


def test_info_says_which_families_several_gpus_can_split(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    families = info["families"]
    assert families["wan22"]["parallel"]["gpus_modes"] == ["t2v", "i2v"]
    assert families["skyreels"]["parallel"] == {
        "gpus_modes": [],
        "context_parallel": [],
        "no_plan": ["SkyReelsV2Transformer3DModel"],
    }
    assert "WanVACETransformer3DModel" in families["wan"]["parallel"]["no_plan"]
    assert info["levers"]["gpus"] >= 1


def frames(take: Path) -> np.ndarray:
    return np.stack(
        [oiio.ImageBuf(str(p)).get_pixels(oiio.FLOAT) for p in sorted(take.glob("*.exr"))]
    )


def launch(out: Path, *flags: str) -> subprocess.Popen[str]:
    command = [*genvfx_command(), "generate", "--model", "builtin:tiny-wan", *SMALL]
    return subprocess.Popen(
        [*command, "--out", str(out), "--name", "el", "--gpus", "2", "--json", *flags],
        env={**os.environ, TEST_SWITCH: "gloo"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_two_ranks_make_the_one_process_take_only_rank_0_writes_and_resume_uses_ranks(
    tmp_path: Path,
) -> None:
    run = launch(tmp_path / "two", "--steps", "2")
    stdout, stderr = run.communicate(timeout=300)
    assert run.returncode == 0, stderr[-3000:]
    events = [json.loads(line) for line in stdout.splitlines()]
    assert [e["event"] for e in events].count("done") == 1, "one rank reports"
    assert "Traceback" not in stderr
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["el"]
    take = tmp_path / "two" / "el" / "v001"
    assert sorted(p.name for p in (tmp_path / "two" / "el").iterdir()) == ["v001"]
    record = json.loads((take / "manifest.json").read_text())
    assert record["complete"] is True and record["job"]["gpus"] == 2
    assert record["generated"]["parallel"] == {"gpus": 2, "heads": 2, "method": "ulysses"}
    assert record["generated"]["levers"]["gpus"] == 2

    one = ["--model", "builtin:tiny-wan", *SMALL, "--steps", "2", "--name", "el"]
    assert main(["generate", *one, "--out", str(tmp_path / "one")]) == 0
    alone = frames(tmp_path / "one" / "el" / "v001")
    assert alone.shape == (9, 64, 64, 4)
    np.testing.assert_allclose(frames(take), alone, atol=2e-3)

    whole = frames(take)
    for frame in (7, 8, 9):
        (take / f"el_v001.000{frame}.exr").unlink()
    manifest = json.loads((take / "manifest.json").read_text())
    manifest.update(status="failed", complete=False, frames=[], finished=None)
    (take / "manifest.json").write_text(json.dumps(manifest))
    resumed = subprocess.run(
        [*genvfx_command(), "resume", str(take), "--json"],
        env={**os.environ, TEST_SWITCH: "gloo"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert [json.loads(line)["event"] for line in resumed.stdout.splitlines()].count("done") == 1
    assert json.loads((take / "manifest.json").read_text())["status"] == "complete"
    np.testing.assert_array_equal(frames(take), whole)


def ranks_of(launcher: int) -> dict[int, int]:
    """rank -> pid of the launcher's children."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            environ = (entry / "environ").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if parent != launcher:
            continue
        for item in environ:
            if item.startswith(f"{RANK_MARK}=".encode()):
                found[int(item.split(b"=")[1])] = int(entry.name)
    return found


def started(run: subprocess.Popen[str]) -> dict[int, int]:
    """Wait for the first denoising step; the ranks' pids."""
    assert run.stdout is not None
    for line in run.stdout:
        if json.loads(line)["event"] == "progress":
            return ranks_of(run.pid)
    raise AssertionError(f"no step was reported: {run.communicate()[1][-3000:]}")


def gone(pids: list[int]) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not any(Path(f"/proc/{pid}").exists() for pid in pids):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.slow
def test_a_rank_that_dies_fails_the_take_naming_it(tmp_path: Path) -> None:
    run = launch(tmp_path, "--steps", "400")
    ranks = started(run)
    assert sorted(ranks) == [0, 1]
    os.kill(ranks[1], signal.SIGKILL)
    _, stderr = run.communicate(timeout=120)
    assert run.returncode == 1
    assert "gpus: rank 1 of 2 failed (signal 9)" in stderr and "Traceback" not in stderr
    record = json.loads((tmp_path / "el" / "v001" / "manifest.json").read_text())
    assert record["status"] == "failed"
    assert gone(list(ranks.values()))


@pytest.mark.slow
def test_cancel_reaches_every_rank(tmp_path: Path) -> None:
    run = launch(tmp_path, "--steps", "400")
    ranks = started(run)
    run.send_signal(signal.SIGINT)
    stdout, stderr = run.communicate(timeout=120)
    assert run.returncode == 130, stderr[-3000:]
    assert json.loads(stdout.splitlines()[-1])["event"] == "cancelled"
    record = json.loads((tmp_path / "el" / "v001" / "manifest.json").read_text())
    assert record["status"] == "cancelled"
    assert gone(list(ranks.values()))
