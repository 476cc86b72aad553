"""Mattes on synthetic elements with known alpha; the matte fields and `genvfx matte`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import genvfx_command
from exr_cases import write

from genvfx.errors import InvalidField
from genvfx.job import GenerationJob
from genvfx.media.colour import check_model_space, from_model_space, to_model_space
from genvfx.media.exr import read_attributes
from genvfx.media.matte import MatteSettings, difference_alpha, key, mask_alpha
from genvfx.media.plates import read_frame
from genvfx.pipeline.engine import generate, prepare
from genvfx_nuke import settings

H, W = 96, 128
rng = np.random.default_rng(3)


def truth() -> tuple[np.ndarray, np.ndarray]:
    """A soft-edged grey puff: straight colour and alpha, 0 around it."""
    yy, xx = np.mgrid[0:H, 0:W]
    radius = np.hypot(xx - W / 2, yy - H / 2)
    alpha = np.clip(1.0 - (radius - 14) / 20, 0.0, 1.0).astype(np.float32)
    colour = np.full((H, W, 3), 0.8, np.float32)
    return colour, alpha


def grain(sigma: float = 0.004) -> np.ndarray:
    return rng.normal(0.0, sigma, (H, W, 3)).astype(np.float32)


def test_black_key_follows_intensity_and_keeps_the_colour() -> None:
    colour, alpha = truth()
    over_black = colour * alpha[:, :, None] + grain()
    out = key(over_black, MatteSettings("black"))
    assert np.corrcoef(out[:, :, 3].ravel(), alpha.ravel())[0, 1] >= 0.95
    assert (out[:, :, 3][alpha == 0] == 0).all()
    assert (out[:, :, :3][out[:, :, 3] == 0] == 0).all()
    solid = out[:, :, 3] > 0.5
    np.testing.assert_allclose(out[:, :, :3][solid], over_black[solid], atol=1e-6)
    thicker = key(over_black, MatteSettings("black", gain=2.0))
    assert thicker[:, :, 3].sum() > out[:, :, 3].sum()


@pytest.mark.parametrize("screen", ["green", "blue"])
def test_screen_key_recovers_alpha_from_an_uneven_screen(screen: str) -> None:
    colour, alpha = truth()
    backing = np.array([0.1, 0.6, 0.12] if screen == "green" else [0.08, 0.12, 0.6], np.float32)
    ramp = 1.0 + 0.05 * np.linspace(0, 1, W, dtype=np.float32)[None, :, None]
    plate = colour * alpha[:, :, None] + (1 - alpha[:, :, None]) * backing * ramp + grain()
    out = key(plate, MatteSettings(screen))
    where = (alpha > 0) | (out[:, :, 3] > 0)
    assert np.abs(out[:, :, 3] - alpha)[where].mean() <= 0.03
    premult = colour * alpha[:, :, None]
    assert np.abs(out[:, :, :3] - premult)[where].mean() <= 0.03
    assert (out[:, :, :3][out[:, :, 3] == 0] == 0).all()


SCREENS = {"green": [0.08, 0.55, 0.1], "blue": [0.06, 0.12, 0.5]}


def over_uneven_screen(
    colour: np.ndarray, alpha: np.ndarray, screen: str
) -> tuple[np.ndarray, np.ndarray]:
    """(the element over a screen 6% brighter on the right than the left, with grain; the
    premultiplied truth)."""
    height, width = alpha.shape
    ramp = 1.0 + 0.06 * np.linspace(-1, 1, width, dtype=np.float32)[None, :, None]
    backing = np.array(SCREENS[screen], np.float32) * ramp
    noise = rng.normal(0.0, 0.004, (height, width, 3)).astype(np.float32)
    premult = colour * alpha[:, :, None]
    return premult + (1 - alpha[:, :, None]) * backing + noise, premult


def soft_disc(height: int, width: int, x: float, core: float, edge: float) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width]
    radius = np.hypot(xx - x, yy - height / 2)
    return np.clip(1.0 - (radius - core) / edge, 0.0, 1.0).astype(np.float32)


def orange(alpha: np.ndarray) -> np.ndarray:
    """A flame's colour, brighter (same hue) where it is denser."""
    heat = alpha[:, :, None] ** 2
    return np.concatenate([1.0 + 2.0 * heat, 0.35 + 0.7 * heat, 0.05 + 0.1 * heat], axis=2)


@pytest.mark.parametrize("screen", ["green", "blue"])
def test_screen_key_reads_a_warm_element_by_its_own_hue(screen: str) -> None:
    """Orange leans away from the screen, so the screen difference alone reads its soft edge
    as too opaque; its opaque core gives the hue along which the edge is unmixed. Large
    enough (256x192) for the screen's surface to be fitted around the element."""
    alpha = soft_disc(192, 256, 128, 20, 40)
    colour = orange(alpha)
    plate, premult = over_uneven_screen(colour, alpha, screen)
    out = key(plate, MatteSettings(screen))
    where = (alpha > 0) | (out[:, :, 3] > 0)
    assert np.abs(out[:, :, 3] - alpha)[where].mean() <= 0.03
    assert np.abs(out[:, :, :3] - premult)[where].mean() <= 0.03
    assert (out[:, :, 3][alpha == 0] == 0).mean() > 0.99
    assert (out[:, :, :3][out[:, :, 3] == 0] == 0).all()


@pytest.mark.parametrize("screen", ["green", "blue"])
def test_neutral_smoke_beside_a_warm_element_keeps_its_own_alpha(screen: str) -> None:
    """The orange core's hue spreads over the frame; grey smoke away from it still keys."""
    flame = soft_disc(192, 320, 80, 15, 25)
    smoke = 0.8 * soft_disc(192, 320, 240, 10, 40)
    alpha = np.maximum(flame, smoke)
    colour = np.where((flame >= smoke)[:, :, None], orange(flame), np.float32(0.6))
    plate, _ = over_uneven_screen(colour.astype(np.float32), alpha, screen)
    out = key(plate, MatteSettings(screen))
    for part in (flame, smoke):
        where = (part > 0) & (part == alpha)
        assert np.abs(out[:, :, 3] - alpha)[where].mean() <= 0.03


def test_mask_matte_is_zero_outside_the_mask_and_soft_inside() -> None:
    mask = np.zeros((H, W), np.float32)
    mask[20:70, 30:100] = 1.0
    alpha = mask_alpha(mask, MatteSettings("mask", feather=8.0))
    assert (alpha[mask == 0] == 0).all()
    assert alpha[45, 65] == 1.0 and 0.0 < alpha[20, 65] < 1.0


def test_difference_alpha_is_zero_where_nothing_changed() -> None:
    plate = rng.uniform(0, 1, (H, W, 3)).astype(np.float32)
    generated = plate.copy()
    generated[10:30, 10:30] = 1.0 - generated[10:30, 10:30]
    alpha = difference_alpha(generated, plate)
    assert (alpha[40:, 40:] == 0).all()
    assert alpha[10:30, 10:30].mean() > 0.5


def test_the_default_view_gives_highlights_back_above_one() -> None:
    config = "ocio://default"
    view = check_model_space(config, None)
    grey = np.geomspace(1e-3, 16.0, 50, dtype=np.float32)[:, None].repeat(3, axis=1)
    shown = to_model_space(grey, config, "lin_rec709", view)
    assert shown.max() < 1.0
    back = from_model_space(shown, config, view, "lin_rec709")
    np.testing.assert_allclose(back, grey, rtol=1e-3)
    assert from_model_space(np.full((1, 3), 0.95, np.float32), config, view, "lin_rec709").min() > 1


def job(tmp_path: Path, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "prompt": "dust plume",
        "model": "builtin:tiny-ltx",
        "frames": "1-9",
        "format": "64x64",
        "seed": 7,
        "steps": 2,
        "output_root": str(tmp_path / "takes"),
        "name": "dust",
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"matte": "smoke"}, "matte"),
        ({"matte": "mask"}, "matte"),
        ({"matte": "difference"}, "matte"),
        ({"matte_gain": 0}, "matte_gain"),
        ({"matte_gain": "2"}, "matte_gain"),
        ({"matte_gamma": 50.0}, "matte_gamma"),
        ({"matte_choke": -1}, "matte_choke"),
        ({"matte": "none", "matte_gain": 2.0}, "matte_gain"),
        ({"matte": "none", "matte_choke": 2.0}, "matte_choke"),
        ({"matte": "none", "background_prompt": "on black"}, "background_prompt"),
        ({"background_prompt": 3}, "background_prompt"),
        ({"model_space": "no such view"}, "model_space"),
    ],
)
def test_bad_matte_fields_are_refused_by_name(
    tmp_path: Path, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidField) as caught:
        prepare(GenerationJob.from_dict(job(tmp_path, **changes)))
    assert caught.value.field == field
    assert not (tmp_path / "takes").exists()


def test_generate_refuses_a_bad_matte_with_exit_2(tmp_path: Path) -> None:
    out = tmp_path / "takes"
    bad = ["--frames", "1-2", "--out", str(out), "--matte", "grey"]
    result = subprocess.run(
        [*genvfx_command(), "generate", "--model", "builtin:tiny-ltx", "--prompt", "x", *bad],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "matte" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


@pytest.mark.slow
def test_generate_with_a_black_matte_makes_an_element(tmp_path: Path) -> None:
    done = generate(GenerationJob.from_dict(job(tmp_path, matte="black", frames="1-2")))
    manifest = json.loads(Path(done.manifest).read_text())
    assert manifest["matte"]["method"] == "black"
    effective = "dust plume, isolated on a pure black background"
    assert manifest["matte"]["effective_prompt"] == effective
    for path in done.frames:
        rgba = read_frame(path)
        alpha = rgba[:, :, 3]
        assert alpha.std() > 0.01
        assert (rgba[:, :, :3][alpha == 0] == 0).all()
        attributes = read_attributes(Path(path))
        assert attributes["genvfx/matte"] == "black"
        assert attributes["genvfx/effective_prompt"] == effective
        assert attributes["genvfx/background_prompt"] == "isolated on a pure black background"


def test_a_data_window_leaves_alpha_zero_where_the_plate_has_no_data(tmp_path: Path) -> None:
    folder = tmp_path / "plate"
    folder.mkdir()
    data = np.full((40, 50, 4), 0.5, np.float32)
    for frame in (1, 2):
        write(folder / f"p.{frame:04d}.exr", data, "RGBA", origin=(10, 8), display=(0, 0, 64, 64))
    prepared = prepare(
        GenerationJob.from_dict(
            job(tmp_path, mode="v2v", plate=str(folder / "p.####.exr"), frames="1-2")
            | {"format": None, "strength": 0.0}
        )
    )
    rgba = prepared.canvas.element(1, np.zeros((64, 64, 3), np.float32))
    assert (rgba[:8, :, 3] == 0).all() and (rgba[:, :10, 3] == 0).all()
    assert (rgba[48:, :, 3] == 0).all() and (rgba[:, 60:, 3] == 0).all()
    assert (rgba[8:48, 10:60, 3] == 1).all()


def matte_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*genvfx_command(), "matte", *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("background", ["black", "green"])
def test_matte_command_writes_a_keyed_take(tmp_path: Path, background: str) -> None:
    colour, alpha = truth()
    folder = tmp_path / "stock"
    folder.mkdir()
    screen = np.array([0.1, 0.6, 0.12], np.float32) if background == "green" else np.zeros(3)
    for frame in (1001, 1002):
        rgb = colour * alpha[:, :, None] + (1 - alpha[:, :, None]) * screen + grain()
        rgba = np.concatenate([rgb, np.ones((H, W, 1), np.float32)], axis=2)
        write(folder / f"el.{frame}.exr", rgba, "RGBA", pixel_type="float")
    result = matte_cli(
        str(folder / "el.####.exr"),
        "--background",
        background,
        "--out",
        str(tmp_path / "o"),
        "--name",
        "puff",
    )
    assert result.returncode == 0, result.stderr
    take = Path(result.stdout.strip())
    frames = sorted(take.glob("*.exr"))
    assert [p.name for p in frames] == ["puff_v001.1001.exr", "puff_v001.1002.exr"]
    out = read_frame(frames[0])
    assert out.shape == (H, W, 4)
    if background == "green":
        where = (alpha > 0) | (out[:, :, 3] > 0)
        assert np.abs(out[:, :, 3] - alpha)[where].mean() <= 0.03
    else:
        assert np.corrcoef(out[:, :, 3].ravel(), alpha.ravel())[0, 1] >= 0.95
        assert (out[:, :, 3][alpha == 0] == 0).all()
    manifest = json.loads((take / "manifest.json").read_text())
    assert manifest["complete"] is True and manifest["matte"]["method"] == background


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--background", "red"], "background"),
        (["--background", "black", "--gain", "0"], "gain"),
        (["--background", "black", "--gamma", "nan"], "gamma"),
        (["--background", "black", "--frames", "5-1"], "frames"),
        (["--background", "black", "--name", "../x"], "name"),
    ],
)
def test_matte_command_refuses_bad_values(tmp_path: Path, args: list[str], field: str) -> None:
    folder = tmp_path / "stock"
    folder.mkdir()
    write(folder / "el.0001.exr", np.zeros((8, 8, 4), np.float32), "RGBA")
    defaults = {"--name": "puff"}
    extra = [] if "--name" in args else [k for kv in defaults.items() for k in kv]
    result = matte_cli(str(folder / "el.####.exr"), *args, *extra, "--out", str(tmp_path / "o"))
    assert result.returncode == 2
    assert result.stderr.startswith(f"genvfx: error: {field}"), result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists()


def plate_script(path: Path, first: int, last: int) -> Path:
    path.write_text(
        "Root {\n inputs 0\n}\n"
        f'Read {{\n inputs 0\n file /plates/p.####.exr\n format "{W} {H} 0 0 {W} {H} 1 x"\n'
        f" first {first}\n last {last}\n name Plate\n}}\n"
        "Grade {\n name Grade1\n}\n"
    )
    return path


def test_insert_warns_of_an_opaque_or_misfitting_take(tmp_path: Path) -> None:
    colour, alpha = truth()
    folder = tmp_path / "stock"
    folder.mkdir()
    for frame in (1001, 1002):
        rgba = np.concatenate([colour * alpha[:, :, None], alpha[:, :, None]], axis=2)
        write(folder / f"el.{frame}.exr", rgba, "RGBA")
    keyed = matte_cli(
        str(folder / "el.####.exr"),
        "--background",
        "black",
        "--out",
        str(tmp_path / "o"),
        "--name",
        "puff",
    )
    assert keyed.returncode == 0, keyed.stderr
    take = keyed.stdout.strip()

    def insert(first: int, last: int) -> str:
        script = plate_script(tmp_path / f"comp_{first}_{last}.nk", first, last)
        out = tmp_path / f"out_{len(list(tmp_path.glob('out_*')))}.nk"
        flags = ["--node", "Plate", "--take", take, "--out", str(out)]
        result = subprocess.run(
            [*genvfx_command(), "insert", str(script), *flags],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return result.stderr

    assert "warning" not in insert(1001, 1002)
    assert "covers frames 1001-1002 but Plate reads 1001-1010" in insert(1001, 1010)

    record = json.loads((Path(take) / "manifest.json").read_text())
    record["matte"] = {"method": "none"}
    (Path(take) / "manifest.json").write_text(json.dumps(record))
    assert "is opaque" in insert(1001, 1002)


@pytest.mark.parametrize("matte", ["auto", "none", "black", "green", "blue", "mask", "difference"])
@pytest.mark.parametrize("mode", ["t2v", "v2v"])
def test_the_node_matte_knob_gives_a_job_the_engine_takes_or_names_the_knob(
    mode: str, matte: str
) -> None:
    context = settings.Context(
        name="Dust_01",
        script_path="",
        plate_range=(1001, 1010),
        plate_format=(W, H),
        root_range=(1, 100),
        root_format=(W, H),
        has_mask=False,
    )
    knobs = {"prompt": "dust", "model": "builtin:tiny-ltx", "mode": mode, "matte": matte}
    knobs["output_root"] = "/tmp/takes"
    try:
        built = settings.build_job(knobs, context)
    except settings.SettingsError as exc:
        assert exc.knob == "matte"
        assert matte == "mask" or (matte == "difference" and mode == "t2v")
        return
    if mode == "v2v":
        built["plate"] = "/plates/p.####.exr"
    loaded = GenerationJob.from_dict(built)
    default = "black" if mode == "t2v" else "none"
    assert loaded.matte_method.value == (default if matte == "auto" else matte)


def test_a_default_view_t2v_take_holds_values_above_one(tmp_path: Path) -> None:
    prepared = prepare(GenerationJob.from_dict(job(tmp_path, matte="none")))
    size = prepared.canvas.generated_size
    frame = np.full((size.height, size.width, 3), 0.98, np.float32)
    rgba = prepared.canvas.element(1, frame)
    assert rgba[:, :, :3].min() > 1.0
    plain = prepare(GenerationJob.from_dict(job(tmp_path, matte="none", model_space="srgb_tx")))
    assert plain.canvas.element(1, frame)[:, :, :3].max() <= 1.0


def test_a_view_that_cannot_give_highlights_back_is_warned_of(tmp_path: Path) -> None:
    events: list[Any] = []
    view = "sRGB - Display/Un-tone-mapped"
    done = generate(
        GenerationJob.from_dict(job(tmp_path, frames="1-1", steps=1, model_space=view)),
        on_event=events.append,
    )
    warnings = [e for e in events if getattr(e, "stage", "") == "colour"]
    assert len(warnings) == 1 and "not invertible above 1.0" in warnings[0].message
    colour = json.loads(Path(done.manifest).read_text())["colour"]
    assert colour["model_space"] == view and colour["returns"]["high"] < 1.0
