"""Synthetic elements with known alpha, shared by the matte benchmark and the contact sheets.

Procedural smoke (grey, value noise), fire (orange to yellow, above 1.0 in its core) and a
soft-edged debris chunk (brown); each as straight colour and alpha, composited over black
or over a slightly uneven green or blue screen, with grain.
"""

from __future__ import annotations

import numpy as np

SCREENS = {
    "green": np.array([0.08, 0.55, 0.10], np.float32),
    "blue": np.array([0.06, 0.12, 0.50], np.float32),
}


def _noise(height: int, width: int, seed: int, octaves: int = 4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.zeros((height, width), np.float32)
    for octave in range(octaves):
        cells = 4 * 2**octave
        grid = rng.uniform(0, 1, (cells + 1, cells + 1)).astype(np.float32)
        ys = np.linspace(0, cells, height, dtype=np.float32)
        xs = np.linspace(0, cells, width, dtype=np.float32)
        y0, x0 = np.minimum(ys.astype(int), cells - 1), np.minimum(xs.astype(int), cells - 1)
        fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
        top = grid[y0][:, x0] * (1 - fx) + grid[y0][:, x0 + 1] * fx
        bottom = grid[y0 + 1][:, x0] * (1 - fx) + grid[y0 + 1][:, x0 + 1] * fx
        out += (top * (1 - fy) + bottom * fy) / 2**octave
    return out / out.max()


def element(kind: str, height: int, width: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(straight colour (H, W, 3), alpha (H, W)) of a smoke, fire or debris element."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    cx, cy = width / 2, height / 2
    radius = np.hypot((xx - cx) / width, (yy - cy) / height)
    if kind == "smoke":
        density = np.clip(_noise(height, width, seed) * 1.6 - 0.5, 0, 1)
        alpha = density * np.clip(1 - radius / 0.35, 0, 1)
        colour = np.stack([0.55 + 0.1 * density] * 3, axis=2)
    elif kind == "fire":
        heat = np.clip(_noise(height, width, seed + 1) * 1.5 - 0.35, 0, 1)
        alpha = heat * np.clip(1 - radius / 0.3, 0, 1)
        core = alpha**2
        colour = np.stack([1.0 + 3.0 * core, 0.35 + 1.2 * core, 0.05 + 0.2 * core], axis=2)
    elif kind == "debris":
        edge = 0.18 + 0.03 * _noise(height, width, seed + 2)
        alpha = np.clip((edge - radius) / 0.02, 0, 1)
        shade = 0.6 + 0.4 * _noise(height, width, seed + 3)
        colour = np.stack([0.30 * shade, 0.22 * shade, 0.15 * shade], axis=2)
    else:
        raise ValueError(kind)
    alpha = alpha.astype(np.float32)
    alpha[alpha < 1e-3] = 0.0
    return colour.astype(np.float32), alpha


def over(
    colour: np.ndarray, alpha: np.ndarray, background: str, seed: int = 0, grain: float = 0.004
) -> np.ndarray:
    """The element over black or a slightly uneven green or blue screen, with grain."""
    height, width = alpha.shape
    rng = np.random.default_rng(seed + 100)
    if background == "black":
        backing = np.zeros((height, width, 3), np.float32)
    else:
        ramp = 1.0 + 0.06 * np.linspace(-1, 1, width, dtype=np.float32)[None, :, None]
        backing = SCREENS[background] * ramp * np.ones((height, 1, 1), np.float32)
    a = alpha[:, :, None]
    picture = colour * a + backing * (1 - a)
    return picture + rng.normal(0, grain, picture.shape).astype(np.float32)
