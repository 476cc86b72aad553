"""`--matte model`: the tiny LTX-2's alpha IC-LoRA makes the take's alpha, from the CLI and
the worker; a model without the pass is refused before anything is written.

All at 64x64 (the tiny model's size, so no resize blurs the comparison), 9 frames, 2 steps.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import genvfx_command
from exr_cases import write
from test_worker import WorkerProcess

from genvfx.errors import InvalidField
from genvfx.job import GenerationJob
from genvfx.media import plates
from genvfx.media.exr import read_attributes
from genvfx.media.matte import MatteSettings, black_key
from genvfx.models.builtin import ensure_builtin
from genvfx.pipeline.engine import generate

TINY = "builtin:tiny-ltx2"


def job_dict(out: Path, **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "prompt": "a smoke plume",
        "model": TINY,
        "frames": "1-9",
        "format": "64x64",
        "steps": 2,
        "guidance": 1.0,
        "seed": 6,
        "pixel_type": "float",
        "output_root": str(out),
        "name": "smoke",
        "matte": "model",
    }
    data.update(fields)
    return data


def run_cli(out: Path, model: str) -> subprocess.CompletedProcess[str]:
    """`genvfx generate --matte model` with the flags `job_dict` gives."""
    flags = ["--model", model, "--prompt", "a smoke plume", "--frames", "1-9", "--format", "64x64"]
    flags += ["--steps", "2", "--guidance", "1", "--seed", "6", "--pixel-type", "float"]
    flags += ["--out", str(out), "--name", "smoke", "--matte", "model"]
    return subprocess.run(
        [*genvfx_command(), "generate", *flags], capture_output=True, text=True, timeout=300
    )


def take_pixels(frames: list[str]) -> np.ndarray:
    return np.stack([plates.read_frame(p) for p in sorted(frames)])


def test_the_cli_writes_the_models_alpha_and_records_the_pass(tmp_path: Path) -> None:
    """The alpha is the model's; a replay and an HDR take get the same alpha."""
    result = run_cli(tmp_path, TINY)
    assert result.returncode == 0, result.stderr
    assert "alpha pass over frames 1-9" in result.stderr
    take = tmp_path / "smoke" / "v001"
    frames = sorted(str(p) for p in take.glob("*.exr"))
    matted = take_pixels(frames)
    alpha = matted[..., 3]
    assert alpha.min() >= 0.0 and alpha.max() <= 1.0
    assert alpha.std() > 0.01 and (alpha < 0.99).mean() > 0.5, "not 1 everywhere"

    opaque = take_pixels(generate(GenerationJob.from_dict(job_dict(tmp_path, matte="none"))).frames)
    assert np.allclose(matted[..., :3], opaque[..., :3] * alpha[..., None], atol=1e-5), (
        "the colour as generated, premultiplied by the model's alpha"
    )
    keyed = np.stack([black_key(rgb, MatteSettings("black"))[..., 3] for rgb in opaque[..., :3]])
    assert np.abs(keyed - alpha).max() > 0.1, "the alpha is the model's, not a key's"

    manifest = json.loads((take / "manifest.json").read_text())
    recorded = manifest["generated"]["passes"]["alpha"]
    adapter = ensure_builtin(TINY) / "loras" / "tiny-ic-lora-alpha.safetensors"
    assert recorded["pipeline"] == "LTX2InContextPipeline"
    assert recorded["adapter"] == str(adapter.resolve())
    assert recorded["sha256"].startswith("sha256:")
    assert manifest["matte"]["method"] == "model"
    header = read_attributes(Path(frames[0]))
    assert header["genvfx/passes"] == "alpha" and header["genvfx/matte"] == "model"

    replay = generate(GenerationJob.from_dict(manifest["job"]))
    assert np.array_equal(take_pixels(replay.frames), matted), "a replay runs the same pass"

    both = generate(GenerationJob.from_dict(job_dict(tmp_path, hdr=True)))
    linear = take_pixels(both.frames)
    assert np.array_equal(linear[..., 3], alpha), "with HDR, the generated frames are matted"
    assert linear[..., :3].max() > 1.0
    assert read_attributes(Path(both.frames[0]))["genvfx/passes"] == "alpha,hdr"


def test_a_model_without_the_pass_exits_2_naming_matte_and_writes_nothing(
    tmp_path: Path,
) -> None:
    result = run_cli(tmp_path / "out", "builtin:tiny-wan22")
    assert result.returncode == 2, result.stderr
    assert "matte" in result.stderr and "no alpha pass" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_folder_without_the_alpha_ic_lora_is_refused_before_a_write(tmp_path: Path) -> None:
    folder = tmp_path / "ltx2-no-alpha"
    shutil.copytree(
        ensure_builtin(TINY), folder, ignore=shutil.ignore_patterns("*alpha*.safetensors")
    )
    settings = json.loads((folder / "genvfx.json").read_text())
    del settings["alpha_lora"]
    (folder / "genvfx.json").write_text(json.dumps(settings))
    with pytest.raises(InvalidField, match="no alpha IC-LoRA") as caught:
        generate(GenerationJob.from_dict(job_dict(tmp_path / "out", model=str(folder))))
    assert caught.value.field == "matte"
    assert not (tmp_path / "out").exists()


def test_the_worker_mattes_a_plate_region_and_keeps_everything_else_zero(tmp_path: Path) -> None:
    """A 128x64 plate whose data window stops at x=100; the region runs from x=48 to the edge."""
    rng = np.random.default_rng(3)
    for frame in range(1, 10):
        data = np.ones((64, 100, 4), np.float32)
        data[..., :3] = rng.uniform(0.0, 1.5, (64, 100, 3))
        write(tmp_path / f"plate.{frame:04d}.exr", data, "RGBA", display=(0, 0, 128, 64))
    job = job_dict(
        tmp_path / "takes",
        mode="v2v",
        plate=str(tmp_path / "plate.####.exr"),
        region="48,0,80,64",
        strength=0.7,
    )
    del job["format"]
    worker = WorkerProcess(tmp_path)
    try:
        worker.send({"id": 1, "op": "generate", "job": job})
        event, _ = worker.until(1, ("done", "error", "cancelled"))
    finally:
        assert worker.close() == 0
    assert event["event"] == "done", event
    take = take_pixels(event["frames"])
    assert take.shape == (9, 64, 128, 4)
    assert not take[:, :, :48].any(), "outside the region: exactly 0"
    assert not take[:, :, 100:].any(), "outside the plate's data window: exactly 0"
    alpha = take[:, :, 48:100, 3]
    assert alpha.std() > 0.01 and alpha.min() < 0.9, "the model's alpha, not an opaque plate"
    manifest = json.loads(Path(event["manifest"]).read_text())
    assert "alpha" in manifest["generated"]["passes"]
    assert manifest["placement"]["alpha"] == "model"


def test_a_long_shot_carries_its_alpha_across_windows(tmp_path: Path) -> None:
    """Each window continues from the previous one's colour; the alpha cross-fades with it."""
    done = generate(GenerationJob.from_dict(job_dict(tmp_path, frames="1-13", window=9, overlap=2)))
    manifest = json.loads(Path(done.manifest).read_text())
    assert len(manifest["generated"]["windows"]) == 2
    alpha = take_pixels(done.frames)[..., 3]
    assert alpha.shape == (13, 64, 64)
    assert all(plane.std() > 0.01 and plane.min() < 0.99 for plane in alpha)


def test_with_a_mask_the_models_alpha_stays_inside_it(tmp_path: Path) -> None:
    """Inpaint: the model's alpha times the mask, so the plate outside the mask is kept."""
    rng = np.random.default_rng(4)
    for frame in range(1, 10):
        data = np.ones((64, 64, 4), np.float32)
        data[..., :3] = rng.uniform(0.0, 1.0, (64, 64, 3))
        write(tmp_path / f"plate.{frame:04d}.exr", data, "RGBA")
        mask = np.zeros((64, 64, 1), np.float32)
        mask[:, 24:40] = 1.0
        write(tmp_path / f"mask.{frame:04d}.exr", mask, "A")
    job = job_dict(
        tmp_path / "takes",
        mode="inpaint",
        plate=str(tmp_path / "plate.####.exr"),
        mask=str(tmp_path / "mask.####.exr"),
        region="0,0,64,64",
    )
    del job["format"]
    alpha = take_pixels(generate(GenerationJob.from_dict(job)).frames)[..., 3]
    assert not alpha[:, :, :24].any() and not alpha[:, :, 40:].any()
    inside = alpha[:, :, 24:40]
    assert inside.std() > 0.01 and inside.min() < 0.99
