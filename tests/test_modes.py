"""i2v, v2v and inpaint end to end on the tiny built-in models, checked against the plate.

The plate is 160x96 (not a legal model size) with values above 1.0 everywhere, and a mask
that moves across the shot, so the region, the fit, the paste and the colour round trip all
have to be right for the take to line up with the plate.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import OpenImageIO as oiio
import pytest
from conftest import genvfx_command
from exr_cases import write

from genvfx.errors import InvalidField, UnsupportedMode
from genvfx.events import CancelToken, Event, Progress
from genvfx.farm import tasks as farm
from genvfx.job import GenerationJob
from genvfx.media import plates
from genvfx.media.exr import read_attributes
from genvfx.pipeline.engine import generate, prepare

WIDTH, HEIGHT = 160, 96
FIRST, LAST = 1001, 1010
STUDIO = "ocio://studio-config-latest"


def mask_box(frame: int) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the mask's white box at `frame`: it moves right 2 px a frame."""
    x0 = 50 + 2 * (frame - FIRST)
    return x0, 30, x0 + 40, 62


@pytest.fixture(scope="module")
def shot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("shot")
    rng = np.random.default_rng(5)
    for frame in range(FIRST, LAST + 1):
        rgba = np.ones((HEIGHT, WIDTH, 4), np.float32)
        rgba[:, :, :3] = rng.uniform(0.0, 4.0, (HEIGHT, WIDTH, 3))
        write(folder / f"plate.{frame}.exr", rgba, "RGBA", pixel_aspect=1.0)
        mask = np.zeros((HEIGHT, WIDTH, 1), np.float32)
        x0, y0, x1, y1 = mask_box(frame)
        mask[y0:y1, x0:x1] = 1.0
        write(folder / f"matte_{frame:04d}.exr", mask, "A")
    return folder


def job_for(shot: Path, out: Path, **fields: Any) -> GenerationJob:
    data: dict[str, Any] = {
        "prompt": "a dust plume",
        "output_root": str(out),
        "name": fields.get("mode", "el"),
        "plate": str(shot / "plate.####.exr"),
        "frames": f"{FIRST}-{LAST}",
        "model_size": "64x64",
        "steps": 2,
        "seed": 3,
    }
    data.update(fields)
    return GenerationJob.from_dict(data)


def read_rgba(path: str | Path) -> np.ndarray:
    return plates.read_frame(path)


def merged_over(take: np.ndarray, plate: np.ndarray) -> np.ndarray:
    return take + plate * (1.0 - take[:, :, 3:4])


CASES = [
    ("builtin:tiny-ltx", "i2v", False),
    ("builtin:tiny-ltx", "v2v", False),
    ("builtin:tiny-ltx", "inpaint", True),
    ("builtin:tiny-wan-i2v", "i2v", False),
    ("builtin:tiny-wan", "v2v", True),
    ("builtin:tiny-wan-vace", "inpaint", True),
]


@pytest.mark.slow
@pytest.mark.parametrize(("model", "mode", "masked"), CASES)
def test_mode_lines_up_with_the_plate(
    shot: Path, tmp_path: Path, model: str, mode: str, masked: bool
) -> None:
    extra = {"mask": str(shot / "matte_%04d.exr"), "margin": 6} if masked else {}
    job = job_for(shot, tmp_path, model=model, mode=mode, window=9, **extra)
    done = generate(job)

    names = sorted(Path(p).name for p in done.frames)
    assert names == [f"{mode}_v001.{f}.exr" for f in range(FIRST, LAST + 1)]
    manifest = json.loads(Path(done.manifest).read_text())
    assert manifest["complete"] is True
    assert len(manifest["generated"]["windows"]) == 2
    if masked:
        # The region is the mask's box over the whole shot plus the margin.
        x0, y0 = mask_box(FIRST)[:2]
        x1, y1 = mask_box(LAST)[2:]
        region = manifest["placement"]["region"]
        assert region == {"x": x0 - 6, "y": y0 - 6, "width": x1 - x0 + 12, "height": y1 - y0 + 12}

    for frame, path in zip(range(FIRST, LAST + 1), sorted(done.frames), strict=True):
        spec = oiio.ImageInput.open(path).spec()
        assert (spec.full_x, spec.full_y, spec.full_width, spec.full_height) == (
            0,
            0,
            WIDTH,
            HEIGHT,
        )
        take = read_rgba(path)
        plate = read_rgba(shot / f"plate.{frame}.exr")
        alpha = take[:, :, 3]
        assert np.isfinite(take).all()
        if masked:
            # With a mask, v2v and inpaint alike: the feathered mask is the alpha.
            x0, y0, x1, y1 = mask_box(frame)
            outside = np.ones((HEIGHT, WIDTH), bool)
            outside[y0:y1, x0:x1] = False
            assert (alpha[outside] == 0).all()
            assert alpha[(y0 + y1) // 2, (x0 + x1) // 2] == 1.0
            assert manifest["matte"]["method"] == "mask"
        elif mode == "v2v":
            assert (alpha == 1.0).all()
            assert manifest["matte"]["method"] == "none"
        else:
            # i2v without a mask is keyed off black by default.
            assert manifest["matte"]["method"] == "black"
            assert alpha.min() >= 0.0 and alpha.max() <= 1.0
        kept = alpha == 0
        assert (take[kept] == 0).all()
        assert np.array_equal(merged_over(take, plate)[kept], plate[kept])
        if masked:
            assert plate[:, :, :3][kept].max() > 3.0
        attributes = read_attributes(Path(path))
        assert attributes["genvfx/mode"] == mode
        assert attributes["genvfx/frame"] == frame


@pytest.mark.slow
@pytest.mark.parametrize("model", ["builtin:tiny-wan-i2v", "builtin:tiny-ltx"])
def test_i2v_starts_from_the_chosen_plate_frame(tmp_path: Path, model: str) -> None:
    folder = tmp_path / "plate"
    folder.mkdir()
    for frame, level in ((1, 0.0), (2, 0.9)):
        rgba = np.full((64, 96, 4), level, np.float32)
        rgba[:, :, 3] = 1.0
        write(folder / f"p.{frame:04d}.exr", rgba, "RGBA")

    def first_take_frame(condition: int, name: str) -> np.ndarray:
        job = GenerationJob.from_dict(
            {
                "prompt": "x",
                "model": model,
                "mode": "i2v",
                "plate": str(folder / "p.####.exr"),
                "frames": "1-5",
                "condition_frame": condition,
                "model_size": "96x64",
                "steps": 2,
                "output_root": str(tmp_path / "out"),
                "name": name,
            }
        )
        return read_rgba(sorted(generate(job).frames)[0])

    dark = first_take_frame(1, "a")
    again = first_take_frame(1, "b")
    bright = first_take_frame(2, "c")
    assert np.array_equal(dark, again)
    # Random tiny weights barely respond to their image, but the same seed with another
    # start frame must not give the same frames.
    assert not np.array_equal(dark, bright)


@pytest.mark.slow
def test_v2v_strength_zero_keeps_the_plate_bit_for_bit(tmp_path: Path) -> None:
    """Strength 0 runs no model: the take's pixels are the plate's own, highlights included."""
    rng = np.random.default_rng(9)
    folder = tmp_path / "plate"
    folder.mkdir()
    for frame in (1, 2, 3):
        rgba = np.ones((64, 96, 4), np.float32)
        rgba[:, :, :3] = rng.uniform(0.0, 1.5, (64, 96, 3))
        rgba[10, 10, :3] = 50.0
        write(folder / f"p.{frame:04d}.exr", rgba, "RGBA")
    job = GenerationJob.from_dict(
        {
            "prompt": "x",
            "model": "builtin:tiny-ltx",
            "mode": "v2v",
            "strength": 0.0,
            "plate": str(folder / "p.####.exr"),
            "frames": "1-3",
            "model_size": "64x64",
            "output_root": str(tmp_path / "out"),
            "name": "keep",
        }
    )
    done = generate(job)
    assert done.model_loaded is False
    for frame, path in zip((1, 2, 3), sorted(done.frames), strict=True):
        plate = read_rgba(folder / f"p.{frame:04d}.exr")[:, :, :3]
        take = read_rgba(path)
        assert np.array_equal(take[:, :, :3], plate)
        assert (take[:, :, 3] == 1.0).all()
        assert take[10, 10, 0] == 50.0


@pytest.mark.slow
def test_v2v_strength_changes_the_result(shot: Path, tmp_path: Path) -> None:
    def centre(strength: float, name: str) -> np.ndarray:
        job = job_for(
            shot,
            tmp_path,
            model="builtin:tiny-wan",
            mode="v2v",
            frames=f"{FIRST}-{FIRST + 4}",
            strength=strength,
            steps=4,
            name=name,
        )
        return read_rgba(sorted(generate(job).frames)[2])

    assert np.abs(centre(0.25, "low") - centre(1.0, "high")).max() > 1e-3


def test_mode_the_family_cannot_do_names_the_families_that_can(shot: Path, tmp_path: Path) -> None:
    job = job_for(
        shot,
        tmp_path / "out",
        model="builtin:tiny-ltx",
        family="cogvideox",
        mode="inpaint",
        mask=str(shot / "matte_%04d.exr"),
    )
    with pytest.raises(UnsupportedMode) as caught:
        generate(job)
    assert "CogVideoX" in str(caught.value)
    assert "LTX-Video, LTX-2, Wan 2.1" in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_weights_made_for_another_pipeline_are_refused_by_the_cli(
    shot: Path, tmp_path: Path
) -> None:
    result = subprocess.run(
        [
            *genvfx_command(),
            "generate",
            "--model",
            "builtin:tiny-wan",
            "--prompt",
            "x",
            "--mode",
            "inpaint",
            "--plate",
            str(shot / "plate.####.exr"),
            "--mask",
            str(shot / "matte_%04d.exr"),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "WanVACEPipeline" in result.stderr
    assert not (tmp_path / "out").exists()


def test_missing_plate_frames_are_listed_and_nothing_is_written(shot: Path, tmp_path: Path) -> None:
    job = job_for(shot, tmp_path / "out", model="builtin:tiny-ltx", mode="v2v", frames="998-1003")
    with pytest.raises(InvalidField) as caught:
        generate(job)
    assert caught.value.field == "plate"
    assert "998-1000" in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_a_format_other_than_the_plate_s_is_refused(shot: Path, tmp_path: Path) -> None:
    job = job_for(shot, tmp_path / "out", model="builtin:tiny-ltx", mode="v2v", format="64x64")
    with pytest.raises(InvalidField) as caught:
        generate(job)
    assert caught.value.field == "format"
    assert f"{WIDTH}x{HEIGHT}" in str(caught.value)


def test_an_empty_mask_is_refused_for_inpaint(tmp_path: Path, shot: Path) -> None:
    for frame in range(FIRST, LAST + 1):
        write(tmp_path / f"empty.{frame}.exr", np.zeros((HEIGHT, WIDTH, 1), np.float32), "A")
    job = job_for(
        shot,
        tmp_path / "out",
        model="builtin:tiny-wan-vace",
        mode="inpaint",
        mask=str(tmp_path / "empty.####.exr"),
    )
    with pytest.raises(InvalidField) as caught:
        generate(job)
    assert caught.value.field == "mask"


@pytest.mark.slow
def test_cli_defaults_range_and_format_to_the_plate(shot: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [
            *genvfx_command(),
            "generate",
            "--model",
            "builtin:tiny-wan-vace",
            "--prompt",
            "smoke",
            "--mode",
            "inpaint",
            "--plate",
            str(shot / "plate.####.exr"),
            "--mask",
            str(shot / "matte_%04d.exr"),
            "--steps",
            "1",
            "--window",
            "13",
            "--out",
            str(tmp_path / "out"),
            "--name",
            "cli",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    take = Path(result.stdout.strip())
    frames = sorted(p.name for p in take.glob("*.exr"))
    assert frames == [f"cli_v001.{f}.exr" for f in range(FIRST, LAST + 1)]
    spec = oiio.ImageInput.open(str(take / frames[0])).spec()
    assert (spec.full_width, spec.full_height) == (WIDTH, HEIGHT)
    manifest = json.loads((take / "manifest.json").read_text())
    assert manifest["job"]["frames"] == {"first": FIRST, "last": LAST}
    generated = manifest["generated"]
    assert generated["width"] * generated["height"] <= 256 * 256, "the tiny model's own budget"


@pytest.mark.slow
def test_cancel_in_a_later_window_leaves_only_whole_frames(shot: Path, tmp_path: Path) -> None:
    cancel = CancelToken()
    seen: list[Event] = []

    def on_event(event: Event) -> None:
        seen.append(event)
        if isinstance(event, Progress) and event.frames_done > 0:
            cancel.cancel()

    job = job_for(shot, tmp_path, model="builtin:tiny-wan", mode="v2v", window=5, overlap=1)
    with pytest.raises(Exception) as caught:
        generate(job, on_event=on_event, cancel=cancel)
    assert getattr(caught.value, "exit_code", None) == 130
    take = tmp_path / "v2v" / "v001"
    manifest = json.loads((take / "manifest.json").read_text())
    assert manifest["status"] == "cancelled" and manifest["complete"] is False
    assert not list(take.glob(".*partial*"))
    written = sorted(take.glob("*.exr"))
    assert 0 < len(written) < LAST - FIRST + 1
    for path in written:
        assert read_rgba(path).shape == (HEIGHT, WIDTH, 4)


@pytest.mark.slow
def test_anamorphic_plate_with_offset_windows_gives_a_take_in_its_display_window(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "plate"
    folder.mkdir()
    rng = np.random.default_rng(2)
    for frame in (1, 2, 3):
        data = np.ones((40, 70, 4), np.float32)
        data[:, :, :3] = rng.uniform(0.0, 2.0, (40, 70, 3))
        write(
            folder / f"ana.{frame:04d}.exr",
            data,
            "RGBA",
            origin=(22, 8),
            display=(-8, -4, 128, 64),
            pixel_aspect=2.0,
        )
        mask = np.zeros((64, 128, 1), np.float32)
        mask[20:40, 40:80] = 1.0
        write(folder / f"ana_mask.{frame:04d}.exr", mask, "A", origin=(-8, -4))
    job = GenerationJob.from_dict(
        {
            "prompt": "x",
            "model": "builtin:tiny-wan-vace",
            "mode": "inpaint",
            "plate": str(folder / "ana.####.exr"),
            "mask": str(folder / "ana_mask.####.exr"),
            "frames": "1-3",
            "model_size": "64x64",
            "steps": 1,
            "output_root": str(tmp_path / "out"),
            "name": "ana",
        }
    )
    done = generate(job)
    manifest = json.loads(Path(done.manifest).read_text())
    placement = manifest["placement"]
    assert placement["pixel_aspect"] == 2.0
    assert placement["format"] == {"width": 128, "height": 64}
    for frame, path in zip((1, 2, 3), sorted(done.frames), strict=True):
        spec = oiio.ImageInput.open(path).spec()
        assert (spec.full_x, spec.full_y, spec.full_width, spec.full_height) == (-8, -4, 128, 64)
        assert (spec.x, spec.y, spec.width, spec.height) == (-8, -4, 128, 64)
        assert spec.get_float_attribute("PixelAspectRatio") == 2.0
        take = read_rgba(path)
        plate = read_rgba(folder / f"ana.{frame:04d}.exr")
        assert (take[:, :, 3][:20] == 0).all() and (take[:, :, 3][:, :40] == 0).all()
        kept = take[:, :, 3] == 0
        assert np.array_equal(merged_over(take, plate)[kept], plate[kept])


def test_a_given_region_is_where_the_element_goes(shot: Path, tmp_path: Path) -> None:
    job = job_for(
        shot,
        tmp_path,
        model="builtin:tiny-wan",
        mode="v2v",
        strength=0.5,
        region="16,8,64,48",
        frames=f"{FIRST}-{FIRST + 4}",
    )
    done = generate(job)
    placement = json.loads(Path(done.manifest).read_text())["placement"]
    assert placement["region"] == {"x": 16, "y": 8, "width": 64, "height": 48}
    take = read_rgba(sorted(done.frames)[0])
    outside = np.ones(take.shape[:2], bool)
    outside[8:56, 16:80] = False
    assert (take[:, :, 3][outside] == 0).all() and (take[:, :, 3][~outside] == 1).all()
    with pytest.raises(InvalidField, match="region"):
        generate(job.replace(region="100,50,64,48", name="outside"))
    assert not (tmp_path / "outside").exists()


def test_a_farm_take_pins_the_shot_wide_region_for_every_window(shot: Path, tmp_path: Path) -> None:
    job = job_for(
        shot,
        tmp_path,
        model="builtin:tiny-wan-vace",
        mode="inpaint",
        mask=str(shot / "matte_%04d.exr"),
    )
    expected = prepare(job).canvas.describe()["region"]
    take, _ = farm.reserve(job, chunk=3)
    pinned = GenerationJob.from_json((take.folder / farm.JOB_FILE).read_text())
    assert pinned.region == (expected["x"], expected["y"], expected["width"], expected["height"])
    window = pinned.replace(frames=f"{FIRST}-{FIRST + 2}")
    assert prepare(window).canvas.describe()["region"] == expected


@pytest.mark.parametrize("matte", ["mask", "difference", "black"])
def test_a_plate_region_is_resized_on_the_device_as_openimageio_would(
    shot: Path, tmp_path: Path, matte: str
) -> None:
    """The device resize (torch Lanczos3) gives the CPU path's take frame within 2e-4 of
    max(|value|, 1), and exactly 0 outside the region."""
    import dataclasses

    prepared = prepare(
        job_for(
            shot,
            tmp_path,
            model="builtin:tiny-wan",
            mode="v2v",
            mask=str(shot / "matte_####.exr"),
            matte=matte,
        )
    )
    canvas = prepared.canvas
    assert getattr(canvas, "post", None) is not None
    assert canvas.describe()["post"] == {"device": "cpu", "resize": "lanczos3", "colour": "ocio"}
    size = canvas.generated_size
    model = np.random.default_rng(2).uniform(0.0, 1.0, (size.height, size.width, 3))
    model = model.astype(np.float32)
    on_device = canvas.element(FIRST, model)
    on_cpu = dataclasses.replace(canvas, post=None).element(FIRST, model)
    scale = np.maximum(np.abs(on_cpu), 1.0)
    assert np.max(np.abs(on_device - on_cpu) / scale) < 2e-4
    outside = np.ones((HEIGHT, WIDTH), bool)
    outside[canvas.fit.region.slices] = False
    assert not on_device[outside].any()
