"""Resizing frames with OpenImageIO's filtered resize (never nearest-neighbour, never numpy)."""

from __future__ import annotations

import numpy as np

FILTER = "lanczos3"


def resize(image: np.ndarray, width: int, height: int, filter_name: str = FILTER) -> np.ndarray:
    """Resize one (H, W, C) or (H, W) float32 image to (height, width[, C]) with a real filter.

    A same-size request returns the image itself, untouched (so a fit that needs no resize
    is exact). `filter_name` is any OpenImageIO 2D filter (lanczos3, blackman-harris,
    triangle, gaussian, box, ...); OpenImageIO widens it when shrinking.
    """
    import OpenImageIO as oiio

    if image.shape[1] == width and image.shape[0] == height:
        return image
    flat = image.ndim == 2
    pixels = image[:, :, None] if flat else image
    src = oiio.ImageBuf(np.ascontiguousarray(pixels, dtype=np.float32))
    spec = oiio.ImageSpec(width, height, pixels.shape[2], oiio.FLOAT)
    dst = oiio.ImageBuf(spec)
    if not oiio.ImageBufAlgo.resize(dst, src, filtername=filter_name):
        raise RuntimeError(f"resize failed: {dst.geterror()}")
    out = np.asarray(dst.get_pixels(oiio.FLOAT), dtype=np.float32).reshape(height, width, -1)
    return out[:, :, 0] if flat else out
