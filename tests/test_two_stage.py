"""LTX-2 two-stage: half size, latents upsampled by the folder's upsampler, refined at full size.

On the tiny LTX-2 (its `latent_upsampler/` is built with it) at 64x64, 9 frames, 2 steps.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from exr_cases import write

from genvfx.cli.main import main
from genvfx.media import plates
from genvfx.media.exr import read_attributes
from genvfx.models.builtin import ensure_builtin

TINY = "builtin:tiny-ltx2"


def flags(out: Path, model: str = TINY, *extra: str) -> list[str]:
    return [
        "generate",
        "--model",
        model,
        "--prompt",
        "a dust plume",
        "--frames",
        "1-9",
        "--format",
        "64x64",
        "--steps",
        "2",
        "--guidance",
        "1",
        "--seed",
        "3",
        "--out",
        str(out),
        "--name",
        "el",
        *extra,
    ]


def take_frames(take: Path) -> np.ndarray:
    return np.stack([plates.read_frame(p) for p in sorted(take.glob("*.exr"))])


def test_two_stage_generates_full_size_from_half_and_records_it(tmp_path: Path) -> None:
    assert main(flags(tmp_path / "one")) == 0
    assert main(flags(tmp_path / "two", TINY, "--two-stage")) == 0
    one, two = tmp_path / "one/el/v001", tmp_path / "two/el/v001"
    pixels = take_frames(two)
    assert pixels.shape == (9, 64, 64, 4) and np.isfinite(pixels).all()
    assert np.abs(pixels - take_frames(one)).max() > 1e-3, "the two stages made other pixels"

    manifest = json.loads((two / "manifest.json").read_text())
    stages = manifest["generated"]["passes"]["two_stage"]
    assert stages["pipeline"] == "LTX2LatentUpsamplePipeline"
    assert stages["first_stage"] == {"width": 32, "height": 32}
    assert stages["sha256"].startswith("sha256:") and len(stages["refine_sigmas"]) == 3
    assert manifest["job"]["two_stage"] is True
    assert (manifest["generated"]["width"], manifest["generated"]["height"]) == (64, 64)
    first = sorted(two.glob("*.exr"))[0]
    assert read_attributes(first)["genvfx/passes"] == "two_stage"


def test_two_stage_image_to_video(tmp_path: Path) -> None:
    for frame in range(1, 10):
        rgba = np.ones((64, 64, 4), np.float32)
        rgba[..., 0] = np.linspace(0.0, 1.0, 64, dtype=np.float32)[None, :]
        write(tmp_path / f"plate.{frame:04d}.exr", rgba, "RGBA")
    plate = str(tmp_path / "plate.####.exr")
    out = tmp_path / "takes"
    assert main(flags(out, TINY, "--two-stage", "--mode", "i2v", "--plate", plate)) == 0
    manifest = json.loads((out / "el/v001/manifest.json").read_text())
    assert manifest["model"]["pipeline"] == "LTX2ImageToVideoPipeline"
    assert "two_stage" in manifest["generated"]["passes"]


@pytest.fixture(scope="module")
def without_upsampler(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ltx2-plain") / "model"
    shutil.copytree(ensure_builtin(TINY), folder)
    shutil.rmtree(folder / "latent_upsampler")
    return folder


@pytest.mark.parametrize(
    ("model", "extra", "why"),
    [
        ("builtin:tiny-ltx", (), "needs LTX-2"),
        (None, (), "holds no latent upsampler"),
        (TINY, ("--frames", "1-13", "--window", "9", "--overlap", "2"), "longer than one window"),
    ],
)
def test_what_cannot_run_in_two_stages_exits_2_and_writes_nothing(
    tmp_path: Path,
    without_upsampler: Path,
    capsys: pytest.CaptureFixture[str],
    model: str | None,
    extra: tuple[str, ...],
    why: str,
) -> None:
    arguments: list[Any] = flags(tmp_path, model or str(without_upsampler), "--two-stage", *extra)
    assert main(arguments) == 2
    error = capsys.readouterr().err
    assert "two_stage" in error and why in error
    assert "Traceback" not in error
    assert not (tmp_path / "el").exists()


def test_plate_modes_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for frame in range(1, 10):
        write(tmp_path / f"plate.{frame:04d}.exr", np.ones((64, 64, 4), np.float32), "RGBA")
    plate = str(tmp_path / "plate.####.exr")
    assert main(flags(tmp_path, TINY, "--two-stage", "--mode", "v2v", "--plate", plate)) == 2
    assert "two_stage" in capsys.readouterr().err
    assert not (tmp_path / "el").exists()
