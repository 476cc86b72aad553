"""Writing the EXR cases plate tests need, with OpenImageIO (windows, layers, parts, MIPs, deep)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import OpenImageIO as oiio

TYPES = {"half": oiio.HALF, "float": oiio.FLOAT}


def make_spec(
    width: int,
    height: int,
    channels: Sequence[str],
    *,
    origin: tuple[int, int] = (0, 0),
    display: tuple[int, int, int, int] | None = None,
    pixel_aspect: float | None = None,
    compression: str = "zip",
    tile: int | None = None,
    pixel_type: str = "half",
    part_name: str | None = None,
) -> oiio.ImageSpec:
    """A spec whose data window is `width`x`height` at `origin`; display = (x, y, w, h)."""
    spec = oiio.ImageSpec(width, height, len(channels), TYPES[pixel_type])
    spec.channelnames = tuple(channels)
    spec.x, spec.y = origin
    if display is None:
        display = (origin[0], origin[1], width, height)
    spec.full_x, spec.full_y, spec.full_width, spec.full_height = display
    if pixel_aspect is not None:
        spec.attribute("PixelAspectRatio", float(pixel_aspect))
    spec.attribute("compression", compression)
    if tile:
        spec.tile_width = spec.tile_height = tile
    if part_name:
        spec.attribute("oiio:subimagename", part_name)
    return spec


def write(path: Path, pixels: np.ndarray, channels: Sequence[str], **options: object) -> Path:
    """One single-part EXR; `pixels` is the data window, (h, w, len(channels))."""
    height, width = pixels.shape[:2]
    spec = make_spec(width, height, channels, **options)  # type: ignore[arg-type]
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), spec), out.geterror()
    assert out.write_image(np.ascontiguousarray(pixels, dtype=np.float32)), out.geterror()
    assert out.close(), out.geterror()
    del out
    return path


def write_mipmapped(path: Path, levels: Sequence[np.ndarray], channels: Sequence[str]) -> Path:
    """A tiled MIP-mapped EXR with the given image per level (top level first)."""
    out = oiio.ImageOutput.create(str(path))
    for index, pixels in enumerate(levels):
        height, width = pixels.shape[:2]
        spec = make_spec(width, height, channels, tile=16)
        if index == 0:
            spec.attribute("textureformat", "Plain Texture")
            assert out.open(str(path), spec, "Create"), out.geterror()
        else:
            assert out.open(str(path), spec, "AppendMIPLevel"), out.geterror()
        assert out.write_image(np.ascontiguousarray(pixels, dtype=np.float32)), out.geterror()
    assert out.close(), out.geterror()
    del out
    return path


def write_multipart(path: Path, parts: Sequence[tuple[str, Sequence[str], np.ndarray]]) -> Path:
    """A multipart EXR: (part name, channel names, pixels) per part."""
    specs = [
        make_spec(pixels.shape[1], pixels.shape[0], channels, part_name=name)
        for name, channels, pixels in parts
    ]
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), specs), out.geterror()
    for index, (_, _, pixels) in enumerate(parts):
        if index:
            assert out.open(str(path), specs[index], "AppendSubimage"), out.geterror()
        assert out.write_image(np.ascontiguousarray(pixels, dtype=np.float32)), out.geterror()
    assert out.close(), out.geterror()
    del out
    return path


def write_deep(path: Path, width: int = 8, height: int = 4) -> Path:
    """A deep scanline EXR with one RGBAZ sample per pixel."""
    spec = make_spec(width, height, ("R", "G", "B", "A", "Z"), pixel_type="float")
    spec.deep = True
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), spec), out.geterror()
    deep = oiio.DeepData()
    deep.init(spec)
    for pixel in range(width * height):
        deep.set_samples(pixel, 1)
        for channel in range(5):
            deep.set_deep_value(pixel, channel, 0, 0.5)
    assert out.write_deep_image(deep), out.geterror()
    assert out.close(), out.geterror()
    del out
    return path


def pattern(width: int, height: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    """Distinct, half-exact values per pixel and channel (a multiple of 1/256 below 8)."""
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 2048, size=(height, width, channels)) / 256.0).astype(np.float32)
