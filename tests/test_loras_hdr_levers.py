"""LoRAs change pixels and are recorded; the HDR pass writes linear light; unusable levers exit 2.

All on the tiny built-ins at 64x64, 9 frames, 2 steps.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import genvfx_command

from genvfx.errors import InvalidField
from genvfx.job import GenerationJob
from genvfx.media import plates
from genvfx.media.exr import read_attributes
from genvfx.models.builtin import ensure_builtin, random_lora
from genvfx.models.resolve import file_hash
from genvfx.pipeline.engine import generate


def job(out: Path, model: str = "builtin:tiny-wan22", **fields: Any) -> GenerationJob:
    data: dict[str, Any] = {
        "prompt": "a dust plume",
        "model": model,
        "frames": "1-9",
        "format": "64x64",
        "steps": 2,
        "guidance": 1.0,
        "seed": 5,
        "output_root": str(out),
        "name": "el",
    }
    data.update(fields)
    return GenerationJob.from_dict(data)


def frames(done_frames: list[str]) -> np.ndarray:
    return np.stack([plates.read_frame(p) for p in sorted(done_frames)])


@pytest.fixture(scope="module")
def lora_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from diffusers import DiffusionPipeline
    from safetensors.torch import save_file

    pipe = DiffusionPipeline.from_pretrained(str(ensure_builtin("builtin:tiny-wan22")))
    path = tmp_path_factory.mktemp("loras") / "show_look.safetensors"
    save_file(random_lora(pipe, seed=11, scale=1.0), str(path))
    return path


def test_a_lora_changes_the_pixels_and_is_recorded(tmp_path: Path, lora_file: Path) -> None:
    plain = generate(job(tmp_path))
    styled = generate(job(tmp_path, loras=[f"{lora_file}:0.8"]))
    assert np.abs(frames(plain.frames) - frames(styled.frames)).max() > 1e-3

    manifest = json.loads(Path(styled.manifest).read_text())
    digest = file_hash(lora_file)
    assert manifest["model"]["loras"] == [
        {"path": str(lora_file.resolve()), "weight": 0.8, "sha256": digest}
    ]
    header = read_attributes(Path(styled.frames[0]))
    assert json.loads(str(header["genvfx/loras"])) == [{"sha256": digest, "weight": 0.8}]

    replay = generate(GenerationJob.from_dict(manifest["job"]))
    assert np.array_equal(frames(replay.frames), frames(styled.frames)), "a replay loads it again"


@pytest.mark.parametrize(
    ("value", "why"),
    [("look.ckpt", ".safetensors"), ("look.safetensors:heavy", ".safetensors"), (7, "PATH")],
)
def test_a_lora_that_is_not_a_safetensors_path_is_refused(value: Any, why: str) -> None:
    with pytest.raises(InvalidField, match=why) as caught:
        job(Path("out"), loras=value)
    assert caught.value.field == "loras"


def test_a_missing_or_false_lora_file_writes_nothing(tmp_path: Path) -> None:
    fake = tmp_path / "fake.safetensors"
    fake.write_bytes(b"\xff" * 16)
    for path in (tmp_path / "missing.safetensors", fake):
        with pytest.raises(InvalidField) as caught:
            generate(job(tmp_path / "out", loras=[str(path)]))
        assert caught.value.field == "loras"
    assert not (tmp_path / "out").exists()


def test_hdr_writes_linear_light_and_records_the_pass(tmp_path: Path) -> None:
    done = generate(job(tmp_path, model="builtin:tiny-ltx2", hdr=True, pixel_type="float"))
    rgb = frames(done.frames)[..., :3]
    assert np.isfinite(rgb).all()
    assert rgb.min() >= 0.0, "the LogC3 toe is clipped"
    assert rgb.max() > 1.0, "linear light above diffuse white survives"

    manifest = json.loads(Path(done.manifest).read_text())
    hdr = manifest["generated"]["passes"]["hdr"]
    assert hdr["pipeline"] == "LTX2HDRPipeline" and hdr["sha256"].startswith("sha256:")
    assert hdr["negative_toe"] == "clipped to 0"
    assert manifest["colour"]["output_space"] == "Linear Rec.709 (sRGB)"
    assert read_attributes(Path(done.frames[0]))["genvfx/passes"] == "hdr"


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"model": "builtin:tiny-wan22", "hdr": True}, "HDR pass"),
        ({"model": "builtin:tiny-ltx", "hdr": True}, "HDR pass"),
        (
            {"model": "builtin:tiny-ltx2", "hdr": True, "frames": "1-20", "window": 9},
            "continue from each other",
        ),
        ({"model": "builtin:tiny-ltx2", "step_cache": "first_block"}, "cannot cache"),
        ({"attention_backend": "flash"}, "on a CPU device"),
        ({"attention_backend": "warp"}, "one of"),
        ({"compile": True}, "CUDA"),
        ({"group_offload": True}, "CUDA"),
    ],
)
def test_what_the_model_or_machine_cannot_use_is_refused_before_a_write(
    tmp_path: Path, fields: dict[str, Any], why: str
) -> None:
    name = next(k for k in fields if k != "model")
    with pytest.raises(InvalidField, match=why) as caught:
        generate(job(tmp_path, device="cpu", **fields))
    assert caught.value.field == name
    assert not (tmp_path / "el").exists()


def test_the_cli_exits_2_naming_the_lever(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            *genvfx_command(),
            "generate",
            "--model",
            "builtin:tiny-ltx2",
            "--prompt",
            "dust",
            "--frames",
            "1-9",
            "--device",
            "cpu",
            "--step-cache",
            "first_block",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "step_cache" in result.stderr and "Traceback" not in result.stderr
    assert not any(tmp_path.iterdir())


def test_a_step_cache_runs_where_diffusers_can_cache_and_is_recorded(tmp_path: Path) -> None:
    done = generate(job(tmp_path, step_cache="first_block", step_cache_threshold=0.2))
    manifest = json.loads(Path(done.manifest).read_text())
    assert manifest["generated"]["levers"]["step_cache"] == "first_block"
    assert manifest["generated"]["levers"]["step_cache_threshold"] == 0.2
    assert frames(done.frames).shape == (9, 64, 64, 4)


def test_hdr_on_a_long_shot_with_independent_windows_cross_fades_linear_frames(
    tmp_path: Path,
) -> None:
    done = generate(
        job(
            tmp_path,
            model="builtin:tiny-ltx2",
            hdr=True,
            frames="1-15",
            window=9,
            overlap=2,
            independent_windows=True,
            pixel_type="float",
        )
    )
    manifest = json.loads(Path(done.manifest).read_text())
    assert len(manifest["generated"]["windows"]) == 2
    assert manifest["generated"]["chained"] is False
    assert len(done.frames) == 15 and "hdr" in manifest["generated"]["passes"]
