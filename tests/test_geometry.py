"""Region of interest, fit to a model size and back, paste, feather, premultiply."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from exr_cases import write
from hypothesis import given, settings
from hypothesis import strategies as st

from genvfx.job import Format, FrameRange
from genvfx.media import geometry, plates
from genvfx.media.geometry import Region
from genvfx.media.resize import resize
from genvfx.models.catalogue import FAMILIES

FRAME_4K = Format(4096, 2160)


def test_mask_bbox_over_a_range_and_none_when_empty() -> None:
    first = np.zeros((50, 80), np.float32)
    first[10:20, 30:35] = 1.0
    second = np.zeros((50, 80), np.float32)
    second[25:40, 5:8] = 0.3
    empty = np.zeros((50, 80), np.float32)
    assert geometry.mask_bbox(iter([first, empty, second])) == Region(5, 10, 30, 30)
    assert geometry.mask_bbox([first, second], threshold=0.5) == Region(30, 10, 5, 10)
    assert geometry.mask_bbox([empty, empty]) is None


def test_region_of_interest_full_frame_or_bbox_plus_margin_in_frame() -> None:
    frame = Format(200, 100)
    assert geometry.region_of_interest(None, frame, 10) == Region(0, 0, 200, 100)
    assert geometry.region_of_interest(Region(50, 40, 20, 10), frame, 8) == Region(42, 32, 36, 26)
    assert geometry.region_of_interest(Region(0, 90, 195, 10), frame, 8) == Region(0, 82, 200, 18)


@settings(max_examples=150, deadline=None)
@given(
    st.integers(16, 4096),
    st.integers(16, 2400),
    st.data(),
    st.sampled_from([0.5, 1.0, 4 / 3, 2.0]),
    st.sampled_from(["ltx", "wan"]),
)
def test_fit_window_holds_the_region_at_the_model_aspect(
    width: int, height: int, data: st.DataObject, pixel_aspect: float, family: str
) -> None:
    frame = Format(width, height)
    x = data.draw(st.integers(0, width - 1))
    y = data.draw(st.integers(0, height - 1))
    w = data.draw(st.integers(1, width - x))
    h = data.draw(st.integers(1, height - y))
    bbox = Region(x, y, w, h)
    margin = data.draw(st.integers(0, 64))
    region = geometry.region_of_interest(bbox, frame, margin)
    assert Region.full(frame).contains(region) and region.contains(bbox)
    budget = data.draw(st.sampled_from([64 * 64, 320 * 192, None]))
    fam = FAMILIES[family]
    fit = geometry.make_fit(region, frame, fam, budget, pixel_aspect)
    model = fit.model
    assert model.width % fam.spatial_multiple == 0 and model.height % fam.spatial_multiple == 0
    assert model.width * model.height <= (budget or fam.max_pixels) * 1.05 or model == Format(
        fam.spatial_multiple, fam.spatial_multiple
    )
    window = fit.window
    assert window.contains(region)
    # padded, never stretched: the window shows the model's aspect to within rounding
    shown = window.width * pixel_aspect / window.height
    assert abs(shown - model.aspect) <= model.aspect * (
        pixel_aspect / window.width + 1 / window.height
    )
    # the window is as small as it can be in one dimension
    assert window.width == region.width or window.height == region.height
    for start, span, limit in ((window.x, window.width, width), (window.y, window.height, height)):
        if span <= limit:
            assert start >= 0 and start + span <= limit


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.integers(0, 30), st.integers(0, 30))
def test_fit_without_resize_round_trips_exactly(w: int, h: int, x: int, y: int) -> None:
    frame = Format(72, 72)
    region = Region(x, y, w, h)
    fit = geometry.exact_fit(region, frame, Format(w, h))
    assert not fit.needs_resize and fit.window == region
    image = np.random.default_rng(w * 100 + h).random((72, 72, 3)).astype(np.float32)
    model = geometry.to_model(image, fit)
    assert model.shape == (h, w, 3)
    np.testing.assert_array_equal(geometry.from_model(model, fit), region.crop(image))
    np.testing.assert_array_equal(
        geometry.to_model(region.crop(image), fit), model
    )  # a region-sized image gives the same pixels


def test_window_beyond_the_frame_is_padded_with_zero() -> None:
    frame = Format(100, 20)
    fit = geometry.exact_fit(Region.full(frame), frame, Format(100, 100))
    assert fit.window == Region(0, -40, 100, 100)
    image = np.ones((20, 100, 3), np.float32)
    model = geometry.to_model(image, fit)
    assert model[40:60].min() == 1.0 and model[:40].max() == 0.0 and model[60:].max() == 0.0
    np.testing.assert_array_equal(geometry.from_model(model, fit), image)
    window = geometry.window_pixels(image, fit)
    assert window.shape == (100, 100, 3)
    np.testing.assert_array_equal(geometry.to_model(window, fit), model)


def test_anamorphic_region_reaches_the_model_with_square_pixels() -> None:
    frame = Format(1024, 858)
    fit = geometry.make_fit(Region.full(frame), frame, FAMILIES["wan"], 512 * 288, 2.0)
    assert abs(fit.model.aspect - 2048 / 858) < 0.1
    assert fit.window.contains(Region.full(frame))


def test_resize_single_channel_and_filter_choice() -> None:
    plane = np.zeros((40, 60), np.float32)
    plane[10:30, 20:40] = 1.0
    lanczos = resize(plane, 30, 20)
    triangle = resize(plane, 30, 20, "triangle")
    assert lanczos.shape == triangle.shape == (20, 30)
    assert lanczos.min() < 0 <= triangle.min()  # lanczos rings, triangle does not
    assert abs(float(triangle.sum()) * 4 - float(plane.sum())) < 1.0


def _plate_4k(tmp_path: Path) -> tuple[Path, np.ndarray]:
    """A 640x360 data window at (1500, 900) in a 4K display window; a bright marker blob."""
    ys, xs = np.mgrid[900:1260, 1500:2140].astype(np.float32)
    red = 0.5 + 0.4 * np.sin(2 * math.pi * xs / 160)
    green = 0.5 + 0.4 * np.cos(2 * math.pi * ys / 120)
    blue = np.exp(-((xs - 1800) ** 2 + (ys - 1050) ** 2) / (2 * 8.0**2))
    data = np.stack([red, green, blue], axis=2).astype(np.float32)
    path = write(
        tmp_path / "plate.1001.exr",
        data,
        ("R", "G", "B"),
        origin=(1500, 900),
        display=(0, 0, 4096, 2160),
        pixel_type="float",
        compression="piz",
    )
    return path, data


def _masks(tmp_path: Path) -> str:
    """Roto-like masks whose data windows are just their shapes (as Nuke writes a bbox)."""
    boxes = {1001: (1720, 1000, 120, 60), 1002: (1760, 1010, 100, 80)}
    for frame, (x, y, w, h) in boxes.items():
        write(
            tmp_path / f"mask.{frame}.exr",
            np.ones((h, w, 1), np.float32),
            ("A",),
            origin=(x, y),
            display=(0, 0, 4096, 2160),
        )
    return str(tmp_path / "mask.####.exr")


def test_known_pattern_in_a_4k_plate_lands_where_it_belongs(tmp_path: Path) -> None:
    plate_path, data = _plate_4k(tmp_path)
    plate = plates.read_frame(plate_path)
    np.testing.assert_array_equal(plate[900:1260, 1500:2140, :3], data)
    masks = plates.open_mask(_masks(tmp_path), FrameRange(1001, 1002))
    bbox = geometry.mask_bbox(mask for _, mask in masks)
    assert bbox == Region(1720, 1000, 140, 90)
    region = geometry.region_of_interest(bbox, masks.info.format, 24)
    assert region == Region(1696, 976, 188, 138)
    fit = geometry.make_fit(region, masks.info.format, FAMILIES["ltx"], 160 * 128)
    assert fit.needs_resize and fit.window.contains(region)
    model = geometry.to_model(plate, fit)  # an identity "model" from here on
    assert model.shape == (fit.model.height, fit.model.width, 4)
    back = geometry.from_model(model, fit)
    assert back.shape == (region.height, region.width, 4)
    full = geometry.paste(
        masks.info.format, region, geometry.premultiply(back, np.ones(back.shape[:2]))
    )
    assert full.shape == (2160, 4096, 4)
    outside = full.copy()
    outside[region.slices] = 0
    assert not outside.any()
    error = np.abs(full[region.slices][:, :, :3] - plate[region.slices][:, :, :3])
    assert error.mean() < 0.01 and error.max() < 0.08  # filtering only, nothing moved
    marker = np.unravel_index(np.argmax(full[:, :, 2]), full.shape[:2])
    assert marker == (1050, 1800)


def test_no_resize_fit_is_bit_exact_and_the_merge_keeps_the_plate(tmp_path: Path) -> None:
    plate_path, _ = _plate_4k(tmp_path)
    plate = plates.read_frame(plate_path)
    masks = plates.open_mask(_masks(tmp_path), FrameRange(1001, 1002))
    mask = masks.read(1001)
    region = geometry.region_of_interest(geometry.mask_bbox([mask]), masks.info.format, 16)
    fit = geometry.exact_fit(region, masks.info.format, region.size)
    assert not fit.needs_resize
    back = geometry.from_model(geometry.to_model(plate, fit), fit)
    np.testing.assert_array_equal(back, region.crop(plate))
    # a "generated" element: something else inside, garbage (even NaN) where alpha is 0
    generated = np.full_like(back, np.nan)
    generated[..., :3][region.crop(mask) > 0] = 7.0
    alpha = geometry.feather(region.crop(mask), 6)
    element = geometry.paste(masks.info.format, region, geometry.premultiply(generated, alpha))
    merged = geometry.merge_over(element, plate)
    keep = geometry.paste(masks.info.format, region, alpha) == 0
    assert keep.sum() == 2160 * 4096 - 120 * 60  # alpha > 0 exactly on the mask
    assert np.array_equal(merged[keep].view(np.uint32), plate[keep].view(np.uint32))
    inside = mask > 0
    assert np.isclose(merged[inside][:, :3], 7.0).mean() > 0.3  # the element shows inside


def test_feather_is_inward_exact_outside_and_one_inside() -> None:
    mask = np.zeros((60, 80), np.float32)
    mask[10:50, 20:80] = 1.0  # runs off the right edge of the frame
    soft = geometry.feather(mask, 10)
    assert (soft[mask == 0] == 0).all()
    assert (soft[25:35, 40:] == 1.0).all()  # deep inside, and no fade at the frame edge
    row = soft[30, 20:40]
    assert row[0] < 0.05 and np.all(np.diff(row) >= 0) and row[-1] == 1.0
    assert 0.3 < row[5] < 0.7  # the ramp is about 10 px wide
    np.testing.assert_array_equal(geometry.feather(mask, 0), mask)
    assert not geometry.feather(np.zeros((8, 8), np.float32), 5).any()


def test_premultiply_zeroes_rgb_where_alpha_is_zero() -> None:
    rgb = np.array([[[np.nan, np.inf, 2.0], [4.0, 4.0, 4.0]]], np.float32)
    alpha = np.array([[0.0, 0.5]], np.float32)
    out = geometry.premultiply(rgb, alpha)
    assert out.shape == (1, 2, 4)
    np.testing.assert_array_equal(out[0, 0], [0, 0, 0, 0])
    np.testing.assert_array_equal(out[0, 1], [2, 2, 2, 0.5])


def test_paste_and_fit_refuse_wrong_shapes() -> None:
    frame = Format(64, 32)
    region = Region(4, 4, 16, 8)
    with pytest.raises(ValueError, match="16x8"):
        geometry.paste(frame, region, np.zeros((8, 15, 4), np.float32))
    fit = geometry.exact_fit(region, frame, Format(16, 8))
    with pytest.raises(ValueError, match="64x32 frame, a 16x8 region or a 16x8 window"):
        geometry.to_model(np.zeros((10, 10, 3), np.float32), fit)
    with pytest.raises(ValueError):
        Region(0, 0, 0, 5)
