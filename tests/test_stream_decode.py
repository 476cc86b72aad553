"""Frames stream from the VAE to the writer: the same pixels as the pipeline's own decode,
written while the rest of the window still decodes, with the window loop's cross-fades."""

from __future__ import annotations

import itertools
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from genvfx.errors import Cancelled
from genvfx.events import CancelToken, Event, FrameWritten
from genvfx.job import GenerationJob
from genvfx.models.devices import DeviceChoice
from genvfx.models.resolve import resolve_model
from genvfx.pipeline.arguments import WindowInputs, arguments_for
from genvfx.pipeline.decode import decoder_for
from genvfx.pipeline.inference import LoadKey, PipelineCache, run_pipeline, with_call_defaults
from genvfx.pipeline.stream import WRITE_BATCH, WindowFrames, decoded_groups
from genvfx.pipeline.windows import blend

CPU = DeviceChoice("cpu", "float32", "requested")


def _quiet(_step: int, _total: int) -> None:
    pass


@pytest.fixture(scope="module")
def cache() -> PipelineCache:
    return PipelineCache()


def _window(
    model: str, pipeline: str, cache: PipelineCache, frames: int, size: int, plate: bool = False
) -> Any:
    """The pipeline and one window's arguments; `plate`: random plate frames, the first as the
    start image, strength 0.6."""
    source = resolve_model(model)
    pipe, _ = cache.get(LoadKey(source.path, pipeline, "cpu", "float32", False, False), False)
    step = source.family.frame_step
    inputs = WindowInputs("dust", "", frames, size, size, 2, 3.0, 24.0, 1.0, step)
    if plate:
        video = np.random.default_rng(3).uniform(0, 1, (frames, size, size, 3))
        video = video.astype(np.float32)
        inputs = replace(inputs, strength=0.6, plate=video, image=video[0])
    return pipe, with_call_defaults(pipe, arguments_for(pipeline, inputs), source.call_defaults)


@pytest.mark.parametrize(
    ("model", "pipeline", "frames", "size", "plate"),
    [
        ("builtin:tiny-ltx", "LTXPipeline", 33, 32, False),
        ("builtin:tiny-ltx", "LTXImageToVideoPipeline", 33, 32, True),
        ("builtin:tiny-ltx", "LTXConditionPipeline", 33, 32, True),
        ("builtin:tiny-ltx2", "LTX2Pipeline", 25, 32, False),
        ("builtin:tiny-wan", "WanPipeline", 17, 32, False),
        ("builtin:tiny-wan", "WanVideoToVideoPipeline", 17, 32, True),
        ("builtin:tiny-wan-vace", "WanVACEPipeline", 17, 32, True),
        ("builtin:tiny-skyreels", "SkyReelsV2DiffusionForcingPipeline", 17, 32, False),
    ],
)
def test_streamed_frames_equal_the_pipelines_own_decode(
    cache: PipelineCache, model: str, pipeline: str, frames: int, size: int, plate: bool
) -> None:
    pipe, arguments = _window(model, pipeline, cache, frames, size, plate)
    assert decoder_for(pipe, arguments) is not None
    whole = run_pipeline(pipe, arguments, 5, CPU, CancelToken(), _quiet)
    groups = list(decoded_groups(pipe, arguments, 5, CPU, CancelToken(), _quiet))
    assert len(groups) > 2, "the window arrives in several groups"
    streamed = np.concatenate(groups)
    assert streamed.shape == whole.shape == (frames, size, size, 3)
    # Tolerance 0: the same operations on the same tensors (measured: identical on CPU).
    np.testing.assert_array_equal(streamed, whole)


def test_decode_noise_at_the_decode_timestep_is_drawn_as_the_pipeline_draws_it(
    cache: PipelineCache,
) -> None:
    """The tiny LTX with a timestep-conditioned VAE: noise comes from the call's generator."""
    from diffusers import AutoencoderKLLTXVideo

    source = resolve_model("builtin:tiny-ltx")
    pipe = PipelineCache().get(
        LoadKey(source.path, "LTXPipeline", "cpu", "float32", False, False), False
    )[0]
    config = {k: v for k, v in pipe.vae.config.items() if not k.startswith("_")}
    torch.manual_seed(1)
    pipe.vae = AutoencoderKLLTXVideo(**{**config, "timestep_conditioning": True})
    pipe.vae.use_framewise_decoding = True
    inputs = WindowInputs("dust", "", 33, 32, 32, 2, 3.0, 24.0, 1.0, 8)
    arguments = {**arguments_for("LTXPipeline", inputs), "decode_timestep": 0.05}
    whole = run_pipeline(pipe, arguments, 5, CPU, CancelToken(), _quiet)
    streamed = np.concatenate(list(decoded_groups(pipe, arguments, 5, CPU, CancelToken(), _quiet)))
    np.testing.assert_array_equal(streamed, whole)


def test_a_cancel_stops_the_decode_between_groups(cache: PipelineCache) -> None:
    pipe, arguments = _window("builtin:tiny-wan", "WanPipeline", cache, 17, 32)
    cancel = CancelToken()
    groups = decoded_groups(pipe, arguments, 5, CPU, cancel, _quiet)
    next(groups)
    cancel.cancel()
    with pytest.raises(Cancelled, match="decoded"):
        next(groups)
    assert pipe.vae._feat_map is None or all(f is None for f in pipe.vae._feat_map)


def test_a_call_the_pipeline_decodes_differently_keeps_the_whole_decode(
    cache: PipelineCache,
) -> None:
    pipe, arguments = _window("builtin:tiny-wan", "WanPipeline", cache, 9, 32)
    assert decoder_for(pipe, {**arguments, "reference_images": [np.zeros((32, 32, 3))]}) is None
    pipe.vae.enable_tiling()
    try:
        assert decoder_for(pipe, arguments) is None
        groups = list(decoded_groups(pipe, arguments, 5, CPU, CancelToken(), _quiet))
        assert [g.shape for g in groups] == [(9, 32, 32, 3)]
    finally:
        pipe.vae.disable_tiling()


def test_a_single_window_is_written_while_it_decodes(tmp_path: Path, cache: PipelineCache) -> None:
    job = GenerationJob.from_dict(
        {
            "prompt": "dust plume",
            "model": "builtin:tiny-ltx",
            "frames": "1001-1033",
            "format": "64x64",
            "seed": 7,
            "steps": 2,
            "output_root": str(tmp_path / "takes"),
            "name": "dust",
        }
    )
    from genvfx.pipeline.engine import generate

    generate(job, cache=cache)  # loads the pipeline, so its VAE can be watched
    decodes: list[float] = []
    written: list[tuple[float, int]] = []
    vae = cache.current.vae
    handle = vae.decoder.register_forward_hook(lambda *_: decodes.append(time.monotonic()))

    def on_event(event: Event) -> None:
        if isinstance(event, FrameWritten):
            written.append((time.monotonic(), event.frame))

    try:
        generate(job, on_event=on_event, cache=cache)
    finally:
        handle.remove()
    assert sorted(f for _t, f in written) == list(range(1001, 1034))
    assert len(decodes) > 2
    first_written = min(t for t, _f in written)
    assert first_written < decodes[-1], "frames were on disk before the last tile decoded"


def _as_before(
    window: np.ndarray, carry: np.ndarray | None, ready: int
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """What the window loop did with a whole window: (written, held back, last)."""
    pixels = window.copy()
    if carry is not None:
        pixels[: len(carry)] = blend(carry, pixels[: len(carry)])
    held = pixels[ready:].copy() if ready < len(pixels) else None
    return pixels[:ready], held, pixels[-1]


@pytest.mark.parametrize("sizes", [[33], [9, 8, 8, 8], [1, 4, 4, 4, 4, 4, 4, 4, 4], [5, 30]])
@pytest.mark.parametrize(("overlap", "hold"), [(0, 0), (9, 9), (5, 0), (0, 3)])
def test_groups_are_cross_faded_written_and_held_back_as_a_whole_window(
    sizes: list[int], overlap: int, hold: int
) -> None:
    rng = np.random.default_rng(len(sizes) * 100 + overlap * 10 + hold)
    generated = rng.uniform(0, 1, (sum(sizes), 4, 4, 3)).astype(np.float32)
    count = 31  # the pipeline returned more frames than the window needs
    carry = rng.uniform(0, 1, (overlap, 4, 4, 3)).astype(np.float32) if overlap else None
    submitted: list[tuple[int, np.ndarray]] = []
    frames = WindowFrames(1001, count, count - hold, carry, lambda f, p: submitted.append((f, p)))
    start = 0
    for size in sizes:
        frames.add(generated[start : start + size])
        start += size
    held, last = frames.finish("LTXPipeline", 33)
    written, held_before, last_before = _as_before(generated[:count], carry, count - hold)
    assert submitted[0][0] == 1001
    for (first, batch), (after, _b) in itertools.pairwise(submitted):
        assert after == first + len(batch)
    assert all(len(p) >= WRITE_BATCH for _f, p in submitted[:-1])
    np.testing.assert_array_equal(np.concatenate([p for _f, p in submitted]), written)
    if held_before is None:
        assert held is None
    else:
        assert held is not None
        np.testing.assert_array_equal(held, held_before)
    np.testing.assert_array_equal(last, last_before)
