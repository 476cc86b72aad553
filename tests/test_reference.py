"""LTX-2 IC-LoRA reference: v2v through the in-context pipeline, the plate as its reference.

On the tiny LTX-2 with a tiny random IC-LoRA, 64x64, 9 frames, 2 steps.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from exr_cases import write
from test_two_stage import flags as tiny_flags
from test_two_stage import take_frames

from genvfx.cli.main import main
from genvfx.media.exr import read_attributes
from genvfx.models.builtin import ensure_builtin, random_lora
from genvfx.models.resolve import file_hash

TINY = "builtin:tiny-ltx2"


@pytest.fixture(scope="module")
def plate(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("reference-plate")
    ramp = np.linspace(0.0, 1.0, 64, dtype=np.float32)
    for frame in range(1, 10):
        rgba = np.ones((64, 64, 4), np.float32)
        rgba[..., 0] = np.roll(ramp, 4 * frame)[None, :]
        rgba[..., 1] = ramp[:, None]
        write(folder / f"plate.{frame:04d}.exr", rgba, "RGBA")
    return str(folder / "plate.####.exr")


@pytest.fixture(scope="module")
def ic_lora(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from diffusers import DiffusionPipeline
    from safetensors.torch import save_file

    pipe = DiffusionPipeline.from_pretrained(str(ensure_builtin(TINY)))
    path = tmp_path_factory.mktemp("ic-lora") / "ic_lora_depth.safetensors"
    save_file(random_lora(pipe, seed=21, scale=1.0), str(path))
    return path


def flags(out: Path, plate: str, *extra: str, model: str = TINY, mode: str = "v2v") -> list[str]:
    strength = ("--strength", "1") if mode == "v2v" else ()
    return tiny_flags(out, model, "--mode", mode, "--plate", plate, *strength, *extra)


def test_a_reference_ic_lora_runs_in_context_and_is_recorded(
    tmp_path: Path, plate: str, ic_lora: Path
) -> None:
    assert main(flags(tmp_path / "plain", plate)) == 0
    assert main(flags(tmp_path / "ref", plate, "--reference-lora", str(ic_lora))) == 0
    plain, ref = tmp_path / "plain/el/v001", tmp_path / "ref/el/v001"
    pixels = take_frames(ref)
    assert pixels.shape == (9, 64, 64, 4) and np.isfinite(pixels).all()
    assert np.abs(pixels - take_frames(plain)).max() > 1e-3, "the IC-LoRA and reference acted"

    manifest = json.loads((ref / "manifest.json").read_text())
    assert manifest["model"]["pipeline"] == "LTX2InContextPipeline"
    recorded = manifest["generated"]["passes"]["reference"]
    assert recorded["sha256"] == file_hash(ic_lora)
    assert recorded["adapter"] == str(ic_lora.resolve())
    assert manifest["job"]["reference_lora"] == str(ic_lora)
    first = sorted(ref.glob("*.exr"))[0]
    assert read_attributes(first)["genvfx/passes"] == "reference"


@pytest.mark.parametrize(
    ("model", "mode", "lora", "why"),
    [
        (TINY, "i2v", None, "unless mode is v2v"),
        ("builtin:tiny-ltx", "v2v", None, "needs LTX-2"),
        (TINY, "v2v", "missing.safetensors", "an existing .safetensors file"),
        (TINY, "v2v", "plate.0001.exr", "a safetensors file"),
    ],
)
def test_what_cannot_run_a_reference_exits_2_and_writes_nothing(
    tmp_path: Path,
    plate: str,
    ic_lora: Path,
    capsys: pytest.CaptureFixture[str],
    model: str,
    mode: str,
    lora: str | None,
    why: str,
) -> None:
    path = str(ic_lora) if lora is None else str(Path(plate).parent / lora)
    arguments = flags(tmp_path, plate, "--reference-lora", path, model=model, mode=mode)
    assert main(arguments) == 2
    error = capsys.readouterr().err
    assert "reference_lora" in error and why in error
    assert "Traceback" not in error
    assert not (tmp_path / "el").exists()
