"""End to end on both tiny families: frames read back from disk with OpenImageIO."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import OpenImageIO as oiio
import pytest

from genvfx.errors import Cancelled, RuntimeFailure
from genvfx.events import CancelToken, Event, Progress
from genvfx.job import GenerationJob
from genvfx.media.colour import convert
from genvfx.models.devices import DeviceChoice
from genvfx.models.resolve import resolve_model
from genvfx.pipeline.arguments import WindowInputs, arguments_for
from genvfx.pipeline.engine import generate
from genvfx.pipeline.inference import LoadKey, PipelineCache, run_pipeline

PLAIN = {"model_space": "srgb_tx", "matte": "none"}
"""The model space as a plain colour space and an opaque take: output converted, not keyed."""


def make_job(tmp_path: Path, **changes: Any) -> GenerationJob:
    data: dict[str, Any] = {
        "prompt": "dust plume",
        "model": "builtin:tiny-ltx",
        "frames": "1001-1009",
        "format": "64x64",
        "seed": 7,
        "steps": 2,
        "output_root": str(tmp_path / "takes"),
        "name": "dust",
    }
    data.update(changes)
    return GenerationJob.from_dict(data)


def read_exr(path: Path) -> tuple[np.ndarray, Any]:
    inp = oiio.ImageInput.open(str(path))
    assert inp is not None, oiio.geterror()
    spec = inp.spec()
    pixels = inp.read_image(oiio.FLOAT)
    inp.close()
    return np.asarray(pixels), spec


@pytest.fixture(scope="module")
def cache() -> PipelineCache:
    return PipelineCache()


@pytest.mark.parametrize(
    ("model", "family", "pipeline"),
    [("builtin:tiny-ltx", "ltx", "LTXPipeline"), ("builtin:tiny-wan", "wan", "WanPipeline")],
)
def test_take_on_disk(
    tmp_path: Path, cache: PipelineCache, model: str, family: str, pipeline: str
) -> None:
    job = make_job(tmp_path, model=model, negative_prompt="blurry")
    done = generate(job, cache=cache)
    folder = tmp_path / "takes" / "dust" / "v001"
    assert Path(done.take_dir) == folder
    exrs = sorted(p.name for p in folder.glob("*.exr"))
    assert exrs == [f"dust_v001.{f}.exr" for f in range(1001, 1010)]
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]
    for index, name in enumerate(exrs):
        pixels, spec = read_exr(folder / name)
        assert pixels.shape == (64, 64, 4)
        assert list(spec.channelnames) == ["R", "G", "B", "A"]
        assert spec.format == oiio.HALF
        assert spec.get_string_attribute("compression") == "zip"
        assert (spec.x, spec.y, spec.width, spec.height) == (0, 0, 64, 64)
        assert (spec.full_x, spec.full_y, spec.full_width, spec.full_height) == (0, 0, 64, 64)
        assert np.isfinite(pixels).all()
        alpha = pixels[..., 3]
        assert alpha.min() >= 0.0 and alpha.max() <= 1.0
        assert (pixels[..., :3][alpha == 0] == 0).all()
        assert spec.getattribute("genvfx/matte") == "black"
        assert spec.getattribute("genvfx/prompt") == "dust plume"
        assert spec.getattribute("genvfx/negative_prompt") == "blurry"
        assert spec.getattribute("genvfx/seed") == 7
        assert spec.getattribute("genvfx/steps") == 2
        assert spec.getattribute("genvfx/model") == model
        assert spec.getattribute("genvfx/family") == family
        assert spec.getattribute("genvfx/pipeline") == pipeline
        assert str(spec.getattribute("genvfx/weights_hash")).startswith("sha256:")
        assert spec.getattribute("genvfx/job_hash") == job.job_hash()
        assert spec.getattribute("genvfx/frame_index") == index
        assert spec.getattribute("genvfx/version")
        assert GenerationJob.from_json(spec.getattribute("genvfx/job")) == job
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["complete"] is True
    assert [f["frame"] for f in manifest["frames"]] == list(range(1001, 1010))
    assert GenerationJob.from_dict(manifest["job"]) == job
    assert manifest["pattern"].endswith("dust_v001.####.exr")


def test_versions_never_overwrite(tmp_path: Path, cache: PipelineCache) -> None:
    job = make_job(tmp_path, frames="1-3", format="32x32")
    first = generate(job, cache=cache)
    before = Path(first.frames[0]).read_bytes()
    second = generate(job, cache=cache)
    assert (first.version, second.version) == ("v001", "v002")
    assert Path(first.frames[0]).read_bytes() == before
    assert Path(second.frames[0]).name == "dust_v002.0001.exr"


def test_padding_grows_for_large_frame_numbers(tmp_path: Path, cache: PipelineCache) -> None:
    done = generate(make_job(tmp_path, frames="99999-100001", format="32x32"), cache=cache)
    assert [Path(p).name for p in done.frames] == [
        "dust_v001.099999.exr",
        "dust_v001.100000.exr",
        "dust_v001.100001.exr",
    ]


def test_same_seed_same_pixels_other_seed_or_prompt_others(
    tmp_path: Path, cache: PipelineCache
) -> None:
    def pixels(**changes: Any) -> np.ndarray:
        done = generate(make_job(tmp_path, **changes), cache=cache)
        return np.stack([read_exr(Path(p))[0] for p in done.frames])

    reference = pixels(seed=11)
    assert np.array_equal(reference, pixels(seed=11))
    assert not np.array_equal(reference, pixels(seed=12))
    assert not np.array_equal(reference, pixels(seed=11, prompt="dust plumf"))


def test_illegal_length_and_size_are_generated_larger_then_trimmed_and_resized(
    tmp_path: Path, cache: PipelineCache
) -> None:
    done = generate(make_job(tmp_path, frames="1001-1003", format="100x60"), cache=cache)
    assert len(done.frames) == 3
    pixels, spec = read_exr(Path(done.frames[0]))
    assert (spec.width, spec.height, spec.full_width, spec.full_height) == (100, 60, 100, 60)
    manifest = json.loads(Path(done.manifest).read_text())
    generated = manifest["generated"]
    assert generated["frames"] == 9
    assert generated["width"] % 32 == 0 and generated["height"] % 32 == 0
    assert (generated["width"], generated["height"]) != (100, 60)
    assert generated["trimmed_to"] == 3
    assert np.isfinite(pixels).all()


def test_working_space_is_an_ocio_conversion_of_model_output(
    tmp_path: Path, cache: PipelineCache
) -> None:
    display = generate(
        make_job(tmp_path, working_space="srgb_tx", pixel_type="float", frames="1-1", **PLAIN),
        cache=cache,
    )
    linear = generate(make_job(tmp_path, pixel_type="float", frames="1-1", **PLAIN), cache=cache)
    srgb_pixels, _ = read_exr(Path(display.frames[0]))
    linear_pixels, spec = read_exr(Path(linear.frames[0]))
    assert spec.format == oiio.FLOAT
    expected = convert(srgb_pixels[..., :3], "ocio://default", "srgb_tx", "lin_rec709")
    assert np.allclose(linear_pixels[..., :3], expected, atol=1e-5)
    assert not np.allclose(linear_pixels[..., :3], srgb_pixels[..., :3], atol=1e-3)


@pytest.mark.parametrize("compression", ["piz", "dwaa", "none"])
def test_compression_is_written_as_asked(
    tmp_path: Path, cache: PipelineCache, compression: str
) -> None:
    done = generate(
        make_job(tmp_path, frames="1-1", format="32x32", compression=compression), cache=cache
    )
    _, spec = read_exr(Path(done.frames[0]))
    assert spec.get_string_attribute("compression").startswith(compression)


def test_cancel_mid_run_stops_before_decode_and_leaves_no_complete_take(tmp_path: Path) -> None:
    cache = PipelineCache()
    cancel = CancelToken()
    steps_seen: list[int] = []
    decodes: list[int] = []

    def on_event(event: Event) -> None:
        if isinstance(event, Progress) and event.frames_done == 0:
            steps_seen.append(event.step)
            if event.step == 2:
                pipe = cache.current
                original = pipe.vae.decode
                pipe.vae.decode = lambda *a, **k: decodes.append(1) or original(*a, **k)
                cancel.cancel()

    with pytest.raises(Cancelled):
        generate(make_job(tmp_path, steps=20), on_event=on_event, cancel=cancel, cache=cache)
    assert steps_seen == [1, 2]
    assert decodes == []
    folder = tmp_path / "takes" / "dust" / "v001"
    assert list(folder.glob("*.exr")) == []
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["complete"] is False
    assert manifest["status"] == "cancelled"


def test_second_job_reuses_the_loaded_pipeline(tmp_path: Path) -> None:
    cache = PipelineCache()
    first = generate(make_job(tmp_path, frames="1-1", format="32x32"), cache=cache)
    second = generate(make_job(tmp_path, frames="1-1", format="32x32", seed=3), cache=cache)
    assert (first.model_loaded, second.model_loaded) == (True, False)


@pytest.mark.parametrize("option", ["vae_tiling", "cpu_offload"])
def test_memory_options_give_a_complete_take_and_are_recorded(tmp_path: Path, option: str) -> None:
    done = generate(make_job(tmp_path, frames="1-1", **{option: True}), cache=PipelineCache())
    manifest = json.loads(Path(done.manifest).read_text())
    assert manifest["complete"] is True
    assert manifest["job"][option] is True
    assert np.isfinite(read_exr(Path(done.frames[0]))[0]).all()


def test_cancel_before_start_writes_nothing(tmp_path: Path) -> None:
    cancel = CancelToken()
    cancel.cancel()
    with pytest.raises(Cancelled):
        generate(make_job(tmp_path), cancel=cancel)
    assert not (tmp_path / "takes").exists()


def test_an_argument_the_pipeline_does_not_take_fails_before_it_runs(cache: PipelineCache) -> None:
    model = resolve_model("builtin:tiny-ltx")
    pipe, _ = cache.get(LoadKey(model.path, "LTXPipeline", "cpu", "float32", False, False), False)
    window = WindowInputs(
        prompt="dust",
        negative_prompt="",
        frames=9,
        width=32,
        height=32,
        steps=2,
        guidance=3.0,
        fps=24.0,
        strength=1.0,
        frame_step=8,
    )
    arguments = {**arguments_for("LTXPipeline", window), "motion_bucket_id": 127}
    steps: list[int] = []
    with pytest.raises(RuntimeFailure) as caught:
        run_pipeline(
            pipe,
            arguments,
            0,
            DeviceChoice("cpu", "float32", "requested"),
            CancelToken(),
            lambda step, _total: steps.append(step),
        )
    message = str(caught.value)
    assert "LTXPipeline" in message and "the argument motion_bucket_id" in message
    assert steps == []
