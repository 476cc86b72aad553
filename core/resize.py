"""Resizing frames with OpenImageIO's filtered resize (never nearest-neighbour, never numpy)."""

from __future__ import annotations

import numpy as np

FILTER = "lanczos3"


def resize(image: np.ndarray, width: int, height: int, filter_name: str = FILTER) -> np.ndarray:
    """Resize one (H, W, C) float32 image to (height, width, C) with a real filter."""
    import OpenImageIO as oiio

    if image.shape[1] == width and image.shape[0] == height:
        return image
    src = oiio.ImageBuf(np.ascontiguousarray(image, dtype=np.float32))
    spec = oiio.ImageSpec(width, height, image.shape[2], oiio.FLOAT)
    dst = oiio.ImageBuf(spec)
    if not oiio.ImageBufAlgo.resize(dst, src, filtername=filter_name):
        raise RuntimeError(f"resize failed: {dst.geterror()}")
    return np.asarray(dst.get_pixels(oiio.FLOAT), dtype=np.float32).reshape(height, width, -1)
