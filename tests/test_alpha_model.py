"""The alpha IC-LoRA pass on the tiny LTX-2: its limits are checked first, then it mattes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from genvfx.errors import InvalidField
from genvfx.events import CancelToken
from genvfx.job import Format
from genvfx.models.devices import choose_device
from genvfx.models.resolve import resolve_model
from genvfx.pipeline.alpha_model import alpha_arguments, check_alpha, run_alpha
from genvfx.pipeline.arguments import WindowInputs
from genvfx.pipeline.inference import LoadKey, load_pipeline, with_call_defaults


def window(frames: int = 9) -> WindowInputs:
    return WindowInputs(
        prompt="smoke",
        negative_prompt="",
        frames=frames,
        width=64,
        height=64,
        steps=2,
        guidance=1.0,
        fps=24.0,
        strength=1.0,
        frame_step=8,
    )


@pytest.mark.parametrize(
    ("size", "frames", "why"),
    [
        (Format(64, 64), 10, "8k\\+1 frames"),
        (Format(64, 64), 265, "at most 257"),
        (Format(64, 48), 9, "multiples of 32"),
        (Format(2048, 1088), 9, "pixels a frame"),
    ],
)
def test_limits_are_refused_before_anything_runs(size: Format, frames: int, why: str) -> None:
    with pytest.raises(InvalidField, match=why) as caught:
        check_alpha(resolve_model("builtin:tiny-ltx2"), size, frames)
    assert caught.value.field == "matte"


def test_a_model_without_an_alpha_adapter_is_refused() -> None:
    ltx2 = resolve_model("builtin:tiny-ltx2")
    bare = dataclasses.replace(ltx2, adapters={"hdr": ltx2.adapters["hdr"]})
    with pytest.raises(InvalidField, match="no alpha IC-LoRA"):
        check_alpha(bare, Format(64, 64), 9)
    with pytest.raises(InvalidField, match="no alpha pass"):
        check_alpha(resolve_model("builtin:tiny-wan22"), Format(64, 64), 9)


def test_the_pass_mattes_the_frames_and_restores_the_plain_model() -> None:
    model = resolve_model("builtin:tiny-ltx2")
    check_alpha(model, Format(64, 64), 9)
    device = choose_device("cpu", None)
    key = LoadKey(model.path, "LTX2InContextPipeline", "cpu", "float32", False, False)
    pipe = load_pipeline(key, allow_network=False)
    rgb = np.random.default_rng(2).uniform(0.0, 1.0, (9, 64, 64, 3)).astype(np.float32)
    arguments = with_call_defaults(pipe, alpha_arguments(window(), rgb), model.call_defaults)
    matte = run_alpha(pipe, model, arguments, 3, device, CancelToken(), lambda s, t: None, {})
    assert matte.shape == (9, 64, 64)
    assert matte.min() >= 0.0 and matte.max() <= 1.0 and matte.std() > 0.0
    from peft.tuners.tuners_utils import BaseTunerLayer

    layers = [m for m in pipe.transformer.modules() if isinstance(m, BaseTunerLayer)]
    assert layers and all(layer.disable_adapters for layer in layers), "the adapter is off again"
