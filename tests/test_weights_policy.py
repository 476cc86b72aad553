"""The weights policy: a model folder whose loading could run code is refused at resolve time."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import genvfx_command

from genvfx.errors import InvalidInput
from genvfx.models.builtin import ensure_builtin
from genvfx.models.resolve import resolve_model
from genvfx.models.safety import unsafe_files


def pickle_only_copy(tmp_path: Path) -> Path:
    """The tiny LTX model with its transformer saved as pickle (`.bin`) only."""
    import torch
    from safetensors.torch import load_file

    source = ensure_builtin("builtin:tiny-ltx")
    model = tmp_path / "pickled-ltx"
    shutil.copytree(source, model)
    for weights in sorted((model / "transformer").glob("*.safetensors")):
        torch.save(load_file(str(weights)), weights.with_suffix(".bin"))
        weights.unlink()
    return model


def test_a_pickle_only_folder_exits_2_at_resolve_time_naming_the_files(tmp_path: Path) -> None:
    model = pickle_only_copy(tmp_path)
    assert unsafe_files(model) == ["transformer/diffusion_pytorch_model.bin"]
    with pytest.raises(InvalidInput, match=r"transformer/diffusion_pytorch_model\.bin"):
        resolve_model(str(model))
    out = tmp_path / "takes"
    refused = subprocess.run(
        [
            *genvfx_command(),
            "generate",
            "--model",
            str(model),
            "--prompt",
            "dust",
            "--frames",
            "1-9",
            "--out",
            str(out),
            "--print-job",
        ],
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 2, refused.stderr
    assert "diffusion_pytorch_model.bin" in refused.stderr
    assert "allow_unsafe_weights" in refused.stderr
    assert not out.exists(), "a refused job wrote something"
    assert resolve_model(str(model), allow_unsafe_weights=True).path == model.resolve()


def test_custom_code_is_refused_and_safetensors_beside_pickle_is_not(tmp_path: Path) -> None:
    model = tmp_path / "m"
    (model / "unet").mkdir(parents=True)
    (model / "unet" / "model.safetensors").write_bytes(b"")
    (model / "unet" / "model.bin").write_bytes(b"")
    assert unsafe_files(model) == []
    (model / "pipeline.py").write_text("print('hi')\n")
    (model / "unet" / "config.json").write_text(json.dumps({"auto_map": {"x": "y.Z"}}))
    assert unsafe_files(model) == ["pipeline.py", "unet/config.json"]
