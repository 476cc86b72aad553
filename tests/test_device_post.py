"""Post-processing with torch: the same take pixels as OCIO's CPU processor and OpenImageIO.

Tolerances: Lanczos3 against OpenImageIO within 2e-4 of max(|value|, 1) (OpenImageIO
evaluates the filter in float with its own sine); a baked colour conversion within
`colour_bake.TOLERANCE` of OCIO's CPU result; a whole take frame's alpha within 2e-4 of the
numpy path's and its colour, where both alphas are above 1e-3, within 2e-4 relative. (The
black key keeps colour as generated and cuts it to 0 at alpha 0, so a pixel at the key's
threshold can differ by its whole colour: only the alpha is compared there.)
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genvfx.media import colour_bake, lanczos
from genvfx.media.colour import (
    DEFAULT_CONFIG,
    ModelSpace,
    apply_processor,
    check_model_space,
    from_model_processor,
    from_model_space,
)
from genvfx.media.device_post import DevicePost, key_frame, to_working
from genvfx.media.matte import MatteSettings, key
from genvfx.media.resize import resize

SRGB = check_model_space(DEFAULT_CONFIG, "srgb_tx")
VIEW = check_model_space(DEFAULT_CONFIG, None)
CPU = torch.device("cpu")


def _chw(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).contiguous()


def _hwc(tensor: torch.Tensor) -> np.ndarray:
    return tensor.permute(1, 2, 0).numpy()


def _relative(got: np.ndarray, want: np.ndarray) -> float:
    return float((np.abs(got - want) / np.maximum(np.abs(want), 1.0)).max())


@pytest.mark.parametrize(
    ("size", "out"),
    [((48, 64), (135, 240)), ((100, 80), (33, 47)), ((37, 53), (37, 120)), ((64, 64), (64, 31))],
)
def test_lanczos_matches_openimageio_enlarging_and_shrinking(
    size: tuple[int, int], out: tuple[int, int]
) -> None:
    rng = np.random.default_rng(3)
    image = rng.random((*size, 4), dtype=np.float32)
    image[5:9, 7:11] = 40.0
    got = _hwc(lanczos.resize(_chw(image), out[1], out[0]))
    want = resize(image, out[1], out[0])
    assert got.shape == want.shape
    assert _relative(got, want) < 2e-4
    assert got.max() > 1.0


def test_lanczos_same_size_is_untouched() -> None:
    tensor = torch.rand(3, 20, 30)
    assert lanczos.resize(tensor, 30, 20) is tensor


def test_a_plain_colour_space_bakes_to_exact_curves() -> None:
    baked = colour_bake.bake(DEFAULT_CONFIG, SRGB, "ACEScg")
    assert baked.kind == "curves"
    assert baked.max_error < 1e-4
    points = np.random.default_rng(5).random((64, 96, 3), dtype=np.float32)
    want = from_model_space(points, DEFAULT_CONFIG, SRGB, "ACEScg")
    assert _relative(_hwc(baked.apply(_chw(points))), want) < 1e-4


def test_a_3d_lut_follows_ocio_and_its_exact_cells_are_ocio_itself() -> None:
    processor = from_model_processor(DEFAULT_CONFIG, SRGB, "ACEScg")
    lut = colour_bake._lut(processor)
    assert lut.exact is not None and lut.exact.mean() < 0.1
    points = np.random.default_rng(6).random((50, 70, 3), dtype=np.float32)
    want = apply_processor(processor, points)
    assert _relative(_hwc(lut.apply(_chw(points))), want) < colour_bake.TOLERANCE
    everything = colour_bake.BakedColour("lut", 0.0, lut.tables, np.ones_like(lut.exact), processor)
    assert np.array_equal(_hwc(everything.apply(_chw(points))), want)


def test_a_view_the_lut_cannot_follow_falls_back_to_ocio_and_says_so() -> None:
    baked = colour_bake.bake(DEFAULT_CONFIG, VIEW, "lin_rec709")
    assert baked.kind == "ocio"
    assert "CPU processor" in str(baked.describe()["reason"])  # type: ignore[operator]
    frame = np.random.default_rng(7).random((16, 24, 3), dtype=np.float32)
    got = _hwc(to_working(frame, (DEFAULT_CONFIG, VIEW, "lin_rec709"), CPU))
    assert np.array_equal(got, from_model_space(frame, DEFAULT_CONFIG, VIEW, "lin_rec709"))


def test_a_frame_outside_the_unit_cube_is_converted_by_ocio() -> None:
    frame = np.full((4, 4, 3), 1.5, np.float32)
    got = _hwc(to_working(frame, (DEFAULT_CONFIG, SRGB, "lin_rec709"), CPU))
    assert np.array_equal(got, from_model_space(frame, DEFAULT_CONFIG, SRGB, "lin_rec709"))


def _numpy_path(pixels: np.ndarray, model: ModelSpace, matte: MatteSettings) -> np.ndarray:
    rgb = from_model_space(pixels, DEFAULT_CONFIG, model, "lin_rec709")
    return key(resize(rgb, 300, 170), matte)


def _smoke(height: int, width: int) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    blob = np.exp(
        -(((xx - width / 2) / (width / 5)) ** 2 + ((yy - height / 2) / (height / 4)) ** 2)
    )
    grain = np.random.default_rng(8).normal(0, 0.004, (height, width, 3)).astype(np.float32)
    frame = np.clip(blob[:, :, None] * np.array([0.9, 0.85, 0.8], np.float32) + grain, 0.0, 1.0)
    frame[10:14, 40:44] = 1.0
    return frame


@pytest.mark.parametrize("model", [SRGB, VIEW], ids=["srgb", "view"])
@pytest.mark.parametrize(
    "matte",
    [
        MatteSettings("black"),
        MatteSettings("black", gain=1.5, gamma=0.7, choke=2.0, feather=9.0),
        MatteSettings("none"),
    ],
    ids=["black", "shaped", "none"],
)
def test_a_take_frame_matches_the_numpy_path(model: ModelSpace, matte: MatteSettings) -> None:
    pixels = _smoke(96, 160)
    want = _numpy_path(pixels, model, matte)
    got = DevicePost("cpu").free_element(
        pixels,
        (DEFAULT_CONFIG, model, "lin_rec709"),
        300,
        170,
        matte,
    )
    assert got.shape == want.shape == (170, 300, 4)
    assert np.abs(got[..., 3] - want[..., 3]).max() < 2e-4
    both = (got[..., 3] > 1e-3) & (want[..., 3] > 1e-3)
    assert both.mean() > 0.1
    assert _relative(got[both], want[both]) < 2e-4
    assert np.array_equal(got[..., 3] == 0, want[..., 3] == 0)
    assert not got[got[..., 3] == 0].any()
    if model is VIEW:
        assert got[..., :3].max() > 1.0


def test_a_screen_key_runs_the_numpy_key_on_the_resized_frame() -> None:
    frame = torch.rand(3, 40, 60)
    frame[1] += 0.5
    matte = MatteSettings("green")
    got = _hwc(key_frame(frame, matte))
    assert np.array_equal(got, key(_hwc(frame), matte))


def test_half_is_converted_on_the_device() -> None:
    pixels = _smoke(48, 80)
    colour: tuple[str, ModelSpace, str] = (DEFAULT_CONFIG, SRGB, "lin_rec709")
    single = DevicePost("cpu").free_element(pixels, colour, 150, 90, MatteSettings("black"))
    half = DevicePost("cpu", half=True).free_element(
        pixels, colour, 150, 90, MatteSettings("black")
    )
    assert single.dtype == np.float32 and half.dtype == np.float16
    assert np.array_equal(half, single.astype(np.float16))


def test_a_model_alpha_is_resized_with_the_colour_and_premultiplies_it() -> None:
    pixels = _smoke(48, 80)
    alpha = np.zeros((48, 80, 1), np.float32)
    alpha[10:30, 20:60] = 0.5
    colour: tuple[str, ModelSpace, str] = (DEFAULT_CONFIG, SRGB, "lin_rec709")
    got = DevicePost("cpu").free_element(
        np.concatenate([pixels, alpha], axis=2), colour, 150, 90, MatteSettings("black")
    )
    want_alpha = np.clip(resize(alpha[:, :, 0], 150, 90), 0.0, 1.0)
    assert np.abs(got[..., 3] - want_alpha).max() < 2e-4
    rgb = resize(from_model_space(pixels, *colour), 150, 90)
    inside = want_alpha > 1e-3
    assert _relative(got[..., :3][inside], (rgb * want_alpha[..., None])[inside]) < 2e-4
    assert not got[want_alpha <= 0].any()


@pytest.mark.parametrize("model", [SRGB, VIEW], ids=["srgb", "view"])
def test_a_model_frame_may_come_as_a_tensor(model: ModelSpace) -> None:
    pixels = _smoke(48, 80)
    colour: tuple[str, ModelSpace, str] = (DEFAULT_CONFIG, model, "lin_rec709")
    post = DevicePost("cpu")
    from_array = post.free_element(pixels, colour, 150, 90, MatteSettings("black"))
    from_tensor = post.free_element(
        torch.from_numpy(pixels), colour, 150, 90, MatteSettings("black")
    )
    assert np.array_equal(from_tensor, from_array)
