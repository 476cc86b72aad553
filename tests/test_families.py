"""LTX-2, Wan 2.2 (A14B and TI2V-5B) and SkyReels-V2 end to end on their tiny built-ins: every mode, CLI and worker.

Each tiny run is 64x64, 9 frames, 2 steps, guidance 1 (no second guidance pass).
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import genvfx_command
from exr_cases import write
from test_worker import WorkerProcess

from genvfx.job import GenerationJob
from genvfx.media import plates
from genvfx.models.resolve import resolve_model
from genvfx.pipeline.engine import generate

FIRST, LAST = 1, 9
SIZE = 64

EVERY_MODE = [
    ("builtin:tiny-ltx2", "t2v"),
    ("builtin:tiny-ltx2", "i2v"),
    ("builtin:tiny-ltx2", "v2v"),
    ("builtin:tiny-ltx2", "inpaint"),
    ("builtin:tiny-wan22", "t2v"),
    ("builtin:tiny-wan22-5b", "t2v"),
    ("builtin:tiny-wan22-5b", "i2v"),
    ("builtin:tiny-skyreels", "t2v"),
    ("builtin:tiny-skyreels", "i2v"),
]


@pytest.fixture(scope="module")
def shot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 64x64 plate with a gradient that moves, and a mask over its middle."""
    folder = tmp_path_factory.mktemp("family-shot")
    ramp = np.linspace(0.0, 1.0, SIZE, dtype=np.float32)
    for frame in range(FIRST, LAST + 1):
        rgba = np.ones((SIZE, SIZE, 4), np.float32)
        rgba[:, :, 0] = np.roll(ramp, frame)[None, :]
        rgba[:, :, 1] = ramp[:, None]
        rgba[:, :, 2] = 0.25
        write(folder / f"plate.{frame:04d}.exr", rgba, "RGBA")
        mask = np.zeros((SIZE, SIZE, 1), np.float32)
        mask[16:48, 16:48] = 1.0
        write(folder / f"mask.{frame:04d}.exr", mask, "A")
    return folder


def job_dict(shot: Path, out: Path, model: str, mode: str, **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "prompt": "a dust plume",
        "model": model,
        "mode": mode,
        "frames": f"{FIRST}-{LAST}",
        "steps": 2,
        "guidance": 1.0,
        "seed": 4,
        "output_root": str(out),
        "name": mode,
    }
    if mode == "t2v":
        data["format"] = f"{SIZE}x{SIZE}"
    else:
        data["plate"] = str(shot / "plate.####.exr")
    if mode == "inpaint":
        data["mask"] = str(shot / "mask.####.exr")
    data.update(fields)
    return data


def pixels(done_frames: list[str]) -> np.ndarray:
    return np.stack([plates.read_frame(p) for p in sorted(done_frames)])


@pytest.mark.parametrize(
    ("builtin", "family", "modes"),
    [
        ("builtin:tiny-ltx2", "ltx2", {"t2v", "i2v", "v2v", "inpaint"}),
        ("builtin:tiny-wan22", "wan22", {"t2v"}),
        ("builtin:tiny-wan22-5b", "wan22-5b", {"t2v", "i2v"}),
        ("builtin:tiny-skyreels", "skyreels", {"t2v", "i2v"}),
        ("builtin:tiny-wan", "wan", {"t2v", "v2v"}),
    ],
)
def test_each_builtin_is_its_own_family(builtin: str, family: str, modes: set[str]) -> None:
    model = resolve_model(builtin)
    assert model.family.key == family
    assert set(model.family.pipelines_of(model.index_class)) == modes


def test_the_tiny_ltx2_holds_hdr_and_alpha_adapters() -> None:
    model = resolve_model("builtin:tiny-ltx2")
    assert set(model.adapters) == {"hdr", "alpha"}
    assert all(path.is_file() and path.suffix == ".safetensors" for path in model.adapters.values())
    assert model.call_defaults["stg_scale"] == 0.0


def test_every_mode_from_the_worker(shot: Path, tmp_path: Path) -> None:
    worker = WorkerProcess(tmp_path)
    try:
        for number, (model, mode) in enumerate(EVERY_MODE):
            job = job_dict(shot, tmp_path / "takes", model, mode, name=f"w{number}")
            worker.send({"id": number, "op": "generate", "job": job})
        for number, (model, mode) in enumerate(EVERY_MODE):
            event, _ = worker.until(number, ("done", "error", "cancelled"))
            assert event["event"] == "done", (model, mode, event)
            frames = pixels(event["frames"])
            assert frames.shape == (9, SIZE, SIZE, 4)
            assert np.isfinite(frames).all() and frames[..., :3].std() > 0.0
            manifest = json.loads(Path(event["manifest"]).read_text())
            assert manifest["model"]["pipeline"] == resolve_model(model).family.pipeline_for(
                mode, resolve_model(model).index_class
            )
    finally:
        assert worker.close() == 0


def cli_take(data: dict[str, Any], folder: Path, *flags: str) -> tuple[int, str, Path]:
    """`genvfx generate --job` as a user runs it: (exit code, stderr, the take's folder)."""
    job_file = folder / "job.json"
    job_file.write_text(json.dumps(data))
    result = subprocess.run(
        [*genvfx_command(), "generate", "--job", str(job_file), *flags],
        capture_output=True,
        text=True,
        timeout=300,
    )
    return result.returncode, result.stderr, Path(data["output_root"]) / data["name"] / "v001"


def test_ltx2_from_the_cli(shot: Path, tmp_path: Path) -> None:
    """The CLI builds the same job the worker does; one family here keeps the suite fast."""
    code, stderr, take = cli_take(job_dict(shot, tmp_path, "builtin:tiny-ltx2", "t2v"), tmp_path)
    assert code == 0, stderr
    manifest = json.loads((take / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["model"]["family"] == "ltx2"


@pytest.mark.parametrize(
    ("mode", "pipeline"), [("t2v", "WanPipeline"), ("i2v", "WanImageToVideoPipeline")]
)
def test_wan22_5b_from_the_cli_in_both_modes(
    shot: Path, tmp_path: Path, mode: str, pipeline: str
) -> None:
    """One TI2V-5B folder serves both text and image to video, each through its own class."""
    data = job_dict(shot, tmp_path, "builtin:tiny-wan22-5b", mode)
    code, stderr, take = cli_take(data, tmp_path)
    assert code == 0, stderr
    manifest = json.loads((take / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert (manifest["model"]["family"], manifest["model"]["pipeline"]) == ("wan22-5b", pipeline)
    frames = pixels([str(p) for p in take.glob("*.exr")])
    assert frames.shape == (9, SIZE, SIZE, 4) and np.isfinite(frames).all()


def test_a_wan21_folder_is_never_taken_for_wan22_5b() -> None:
    """Wan 2.1, Wan 2.2 A14B and TI2V-5B all save a WanPipeline; their configs tell them apart."""
    assert resolve_model("builtin:tiny-wan").family.key == "wan"
    assert resolve_model("builtin:tiny-wan22").family.key == "wan22"
    five = resolve_model("builtin:tiny-wan22-5b").family
    assert (five.key, five.spatial_multiple, five.max_frames) == ("wan22-5b", 32, 121)


def test_inpaint_keeps_the_plate_outside_the_mask(shot: Path, tmp_path: Path) -> None:
    job = GenerationJob.from_dict(job_dict(shot, tmp_path, "builtin:tiny-ltx2", "inpaint"))
    take = pixels(generate(job).frames)
    assert take[:, 0:8, 0:8, 3].max() == 0.0, "outside the mask's box + margin nothing is drawn"
    assert take[:, 24:40, 24:40, 3].min() == pytest.approx(1.0)


def test_info_lists_families_their_classes_and_the_levers_here() -> None:
    from genvfx.cli.info import collect

    info = json.loads(json.dumps(collect()))
    families = info["families"]
    assert families["ltx2"]["modes"]["v2v"] == ["LTX2ConditionPipeline"]
    assert families["ltx2"]["passes"] == {
        "hdr": "LTX2HDRPipeline",
        "alpha": "LTX2InContextPipeline",
        "two_stage": "LTX2LatentUpsamplePipeline",
        "reference": "LTX2InContextPipeline",
    }
    assert families["wan22"]["modes"] == {
        "t2v": ["WanPipeline"],
        "i2v": ["WanImageToVideoPipeline"],
    }
    assert families["wan22-5b"]["modes"] == {
        "t2v": ["WanPipeline"],
        "i2v": ["WanImageToVideoPipeline"],
    }
    assert families["skyreels"]["modes"]["t2v"] == ["SkyReelsV2DiffusionForcingPipeline"]
    assert families["wan"]["licence"] == "Apache-2.0"
    levers = info["levers"]
    assert "native" in levers["attention_backend"]
    if importlib.util.find_spec("flash_attn") is None:
        assert "flash" not in levers["attention_backend"], "flash-attn is not installed"
    if info["device"] == "cpu":
        assert levers["compile"] is False and levers["group_offload"] is False
    builtins = {"builtin:tiny-ltx2", "builtin:tiny-wan22", "builtin:tiny-wan22-5b"}
    assert builtins | {"builtin:tiny-skyreels"} <= set(info["models"])


@pytest.mark.parametrize(
    ("model", "mode", "window", "last"),
    [("builtin:tiny-ltx2", "t2v", 9, 13), ("builtin:tiny-skyreels", "i2v", 5, 9)],
)
def test_a_long_shot_continues_window_after_window(
    shot: Path, tmp_path: Path, model: str, mode: str, window: int, last: int
) -> None:
    """Each window starts from the previous one's frames (LTX-2 through its conditions)."""
    data = job_dict(shot, tmp_path, model, mode, frames=f"1-{last}", window=window, overlap=2)
    done = generate(GenerationJob.from_dict(data))
    manifest = json.loads(Path(done.manifest).read_text())
    windows = [(w["first"], w["last"]) for w in manifest["generated"]["windows"]]
    assert len(windows) > 1 and windows[0][0] == 1 and windows[-1][1] == last
    assert all(b[0] <= a[1] for a, b in itertools.pairwise(windows)), "they overlap"
    take = pixels(done.frames)
    assert take.shape == (last, SIZE, SIZE, 4) and np.isfinite(take).all()
