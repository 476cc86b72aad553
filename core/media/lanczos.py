"""Lanczos3 resizing in torch, separable, with OpenImageIO's sampling and edge rules.

Each output pixel centre maps to a source position ((x + 0.5) * src / dst); the source
pixels around it are weighted by lanczos3 of their distance (in source pixels when
enlarging; widened by src / dst when shrinking, as OpenImageIO widens its filter), the
weights normalised to sum to 1, and pixels beyond the edge repeat the edge pixel. The
weights of a pass are a banded matrix, applied block by block as small dense matrix
products (`BLOCK` output rows each), so the work grows with the output's size, not with
the square of it.
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

LOBES = 3
BLOCK = 128

Band = tuple[int, int, int, int, np.ndarray]
"""Output rows [start, stop), the source rows [low, high) they read, and their weights."""


def lanczos3(x: np.ndarray) -> np.ndarray:
    """The windowed sinc of three lobes (0 beyond 3)."""
    x = np.abs(np.asarray(x, dtype=np.float64))
    px = np.pi * x
    with np.errstate(invalid="ignore", divide="ignore"):
        value = LOBES * np.sin(px) * np.sin(px / LOBES) / (px * px)
    value = np.where(x < 1e-4, 1.0, value)
    return np.where(x > LOBES, 0.0, value)


def weights(src: int, dst: int) -> tuple[np.ndarray, np.ndarray]:
    """(dst, taps) source indices (edges repeated) and normalised weights of one axis."""
    scale = min(dst / src, 1.0)
    radius = math.ceil(LOBES / scale)
    offsets = np.arange(-radius, radius + 1)
    position = (np.arange(dst) + 0.5) * src / dst
    base = np.floor(position)
    distance = offsets[None, :] - (position - base - 0.5)[:, None]
    taps = lanczos3(distance * scale)
    taps /= taps.sum(axis=1, keepdims=True)
    index = np.clip(base.astype(np.int64)[:, None] + offsets[None, :], 0, src - 1)
    return index, taps.astype(np.float32)


@functools.lru_cache(maxsize=32)
def bands(src: int, dst: int) -> tuple[Band, ...]:
    """One axis's weights as dense blocks of `BLOCK` output rows each."""
    index, taps = weights(src, dst)
    out = []
    for start in range(0, dst, BLOCK):
        stop = min(dst, start + BLOCK)
        low, high = int(index[start:stop].min()), int(index[start:stop].max()) + 1
        block = np.zeros((stop - start, high - low), np.float32)
        rows = np.repeat(np.arange(stop - start), index.shape[1])
        np.add.at(block, (rows, (index[start:stop] - low).ravel()), taps[start:stop].ravel())
        out.append((start, stop, low, high, block))
    return tuple(out)


def resize(image: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """A (C, H, W) float32 tensor resized to (C, height, width); the same size is returned as is."""
    import torch

    channels, rows, cols = image.shape
    if (rows, cols) == (height, width):
        return image
    if rows != height:
        tall = torch.empty((channels, height, cols), dtype=image.dtype, device=image.device)
        for start, stop, low, high, block in bands(rows, height):
            matrix = torch.from_numpy(block).to(image.device)
            tall[:, start:stop, :] = torch.matmul(matrix, image[:, low:high, :])
        image = tall
    if cols != width:
        wide = torch.empty((channels, height, width), dtype=image.dtype, device=image.device)
        for start, stop, low, high, block in bands(cols, width):
            matrix = torch.from_numpy(block).to(image.device)
            wide[:, :, start:stop] = torch.matmul(image[:, :, low:high], matrix.T)
        image = wide
    return image
