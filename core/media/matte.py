"""Pulling an element's alpha: how compositors key smoke, fire and debris, in numpy.

Every method returns premultiplied RGBA (H, W, 4) float32 with alpha in [0, 1], alpha
exactly 0 where there is no element and RGB exactly 0 there too, so a Merge (over) leaves
the plate bit for bit wherever the element is not.

- `black`: an element generated over black is already premultiplied (what a camera sees of
  smoke over black is colour times coverage), so its colour is kept as generated and its
  alpha comes from its own intensity (the brightest channel), above the background's noise
  floor, times `gain`, shaped by `gamma`. Where the element is darker than its own coverage
  (thick black smoke) alpha is ambiguous by nature: `gain` is the control.
- `green` / `blue`: the screen colour is sampled from the frame (the pixels most dominated
  by the screen channel); alpha is one minus the screen difference (the screen channel above
  the larger of the other two) relative to the screen's; the screen is subtracted from the
  picture in proportion to its transparency (unmixing), and what spill remains is limited.
- `mask`: the given mask, feathered inward.
- `difference`: alpha where a generated frame differs from the plate it was made from.

`choke` erodes the matte by that many pixels, `feather` softens it over that many pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..job import Matte
from .geometry import blur, erode
from .geometry import feather as feather_inward
from .resize import resize

SCREEN_CHANNEL = {"green": 1, "blue": 2}
NOISE_SIGMAS = 6.0
"""The black floor sits this many noise deviations above the background's level."""
MAX_FLOOR = 0.05
SCREEN_CLIP = 0.04
"""Screen alpha below this is background grain (0); above 1 - this, solid (1)."""
SCREEN_TILE = 64
"""The screen's colour is measured per tile of this many pixels, so an uneven screen keys."""
DIFFERENCE_FULL = 0.1
"""A display-space difference that is fully opaque at gain 1."""
DIFFERENCE_FLOOR = 0.01


@dataclass(frozen=True)
class MatteSettings:
    """A matte method and its controls (see the module docstring)."""

    method: str
    gain: float = 1.0
    gamma: float = 1.0
    choke: float = 0.0
    feather: float = 0.0

    def __post_init__(self) -> None:
        if self.method not in Matte.values():
            raise ValueError(f"matte method must be one of {Matte.values()}, not {self.method!r}")

    def to_dict(self) -> dict[str, object]:
        return {
            "method": self.method,
            "gain": self.gain,
            "gamma": self.gamma,
            "choke": self.choke,
            "feather": self.feather,
        }


def black_key(rgb: np.ndarray, settings: MatteSettings) -> np.ndarray:
    """Premultiplied RGBA of an element over black: colour as generated, alpha from intensity."""
    colour = np.asarray(rgb, dtype=np.float32)[:, :, :3]
    intensity = np.maximum(colour.max(axis=2), 0.0)
    floor = noise_floor(colour)
    alpha = (intensity - floor) * (settings.gain / max(1.0 - floor, 1e-6))
    np.clip(alpha, 0.0, 1.0, out=alpha)
    alpha = _shape(alpha, settings)
    return with_alpha(np.maximum(colour, 0.0), alpha)


def noise_floor(colour: np.ndarray) -> float:
    """The level below which a frame over black holds only background grain.

    The background's level is the median intensity of the darkest quarter of pixels; the
    grain's deviation is the largest channel's, from neighbouring pixels' differences (robust
    to the element's edges, which are few). The floor is the level plus `NOISE_SIGMAS`
    deviations, at most `MAX_FLOOR`.
    """
    sample = colour[::2, ::2]
    if sample.shape[0] * sample.shape[1] < 4:
        return 0.0
    flat = np.maximum(sample.max(axis=2), 0.0).ravel()
    quarter = max(1, flat.size // 4)
    level = float(np.median(np.partition(flat, quarter)[:quarter]))
    steps = np.abs(np.diff(sample, axis=1)).reshape(-1, 3)
    sigma = float(np.median(steps, axis=0).max()) / (0.6745 * np.sqrt(2.0)) if steps.size else 0.0
    return min(level + NOISE_SIGMAS * sigma, MAX_FLOOR)


def screen_colour(rgb: np.ndarray, screen: str) -> np.ndarray:
    """The screen's colour: the median of the pixels most dominated by the screen channel."""
    channel = SCREEN_CHANNEL[screen]
    others = [c for c in range(3) if c != channel]
    sample = np.asarray(rgb, dtype=np.float32)[::4, ::4, :3].reshape(-1, 3)
    dominance = sample[:, channel] - sample[:, others].max(axis=1)
    top = np.percentile(dominance, 95)
    if top <= 0:
        return np.median(sample, axis=0).astype(np.float32)
    chosen = sample[dominance >= 0.8 * top]
    return np.median(chosen, axis=0).astype(np.float32)


def screen_key(rgb: np.ndarray, screen: str, settings: MatteSettings) -> np.ndarray:
    """Premultiplied RGBA of an element over a green or blue screen (even or slightly not)."""
    colour = np.asarray(rgb, dtype=np.float32)[:, :, :3]
    channel = SCREEN_CHANNEL[screen]
    backing = screen_colour(colour, screen)
    backing_plane = _screen_plane(colour, channel, backing)
    alpha = _screen_alpha(colour, backing_plane, channel, settings.gain)
    low, high = alpha < SCREEN_CLIP, alpha > 1.0 - SCREEN_CLIP
    alpha[low], alpha[high] = 0.0, 1.0
    alpha = _shape(alpha, settings)
    premult = colour - (1.0 - alpha)[:, :, None] * backing_plane
    others = [c for c in range(3) if c != channel]
    limit = np.maximum(premult[:, :, others[0]], premult[:, :, others[1]])
    np.minimum(premult[:, :, channel], limit, out=premult[:, :, channel])
    np.maximum(premult, 0.0, out=premult)
    return with_alpha(premult, alpha)


def _dominance(colour: np.ndarray, channel: int) -> np.ndarray:
    """The screen channel above the larger of the other two."""
    others = [c for c in range(3) if c != channel]
    return colour[..., channel] - np.maximum(colour[..., others[0]], colour[..., others[1]])


def _screen_alpha(colour: np.ndarray, backing: np.ndarray, channel: int, gain: float) -> np.ndarray:
    reference = np.maximum(_dominance(backing, channel), 1e-6)
    alpha = 1.0 - _dominance(colour, channel) * gain / reference
    return np.clip(alpha, 0.0, 1.0).astype(np.float32)


def _screen_plane(colour: np.ndarray, channel: int, backing: np.ndarray) -> np.ndarray:
    """The screen's colour at every pixel: tile means of the clean screen, filled and smoothed.

    Tiles that show no clean screen (under the element) take their neighbours' colour.
    """
    height, width = colour.shape[:2]
    flat = np.broadcast_to(backing, colour.shape)
    clean = _screen_alpha(colour, flat, channel, 1.0) <= SCREEN_CLIP
    rows, cols = -(-height // SCREEN_TILE), -(-width // SCREEN_TILE)
    pad = ((0, rows * SCREEN_TILE - height), (0, cols * SCREEN_TILE - width))
    weight = np.pad(clean.astype(np.float32), pad)
    tiles_w = weight.reshape(rows, SCREEN_TILE, cols, SCREEN_TILE).sum(axis=(1, 3))
    sums = np.stack(
        [
            (np.pad(colour[:, :, c] * clean, pad))
            .reshape(rows, SCREEN_TILE, cols, SCREEN_TILE)
            .sum(axis=(1, 3))
            for c in range(3)
        ],
        axis=2,
    )
    known = tiles_w >= SCREEN_TILE * SCREEN_TILE / 8
    if not known.any():
        return np.broadcast_to(backing, colour.shape).astype(np.float32)
    grid = np.where(known[:, :, None], sums / np.maximum(tiles_w, 1.0)[:, :, None], 0.0)
    grid = _fill(grid.astype(np.float32), known)
    return resize(grid, cols * SCREEN_TILE, rows * SCREEN_TILE, "triangle")[:height, :width]


def _fill(grid: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Unknown tiles take the mean of their known neighbours, ring after ring."""
    grid, known = grid.copy(), known.copy()
    while not known.all():
        padded = np.pad(grid * known[:, :, None], ((1, 1), (1, 1), (0, 0)))
        count = np.pad(known.astype(np.float32), 1)
        total = padded[:-2, 1:-1] + padded[2:, 1:-1] + padded[1:-1, :-2] + padded[1:-1, 2:]
        n = count[:-2, 1:-1] + count[2:, 1:-1] + count[1:-1, :-2] + count[1:-1, 2:]
        newly = (~known) & (n > 0)
        grid[newly] = total[newly] / n[newly][:, None]
        known = known | newly
    return grid


def mask_alpha(mask: np.ndarray, settings: MatteSettings) -> np.ndarray:
    """A (H, W) mask feathered inward by `settings.feather`, then choked."""
    alpha = feather_inward(mask, settings.feather)
    return erode(alpha, settings.choke) if settings.choke > 0 else alpha


def difference_alpha(generated: np.ndarray, plate: np.ndarray, gain: float = 1.0) -> np.ndarray:
    """(H, W) alpha where two display-referred pictures differ (0 below a floor)."""
    diff = np.abs(
        np.asarray(generated, np.float32)[:, :, :3] - np.asarray(plate, np.float32)[:, :, :3]
    )
    level = diff.max(axis=2) - DIFFERENCE_FLOOR
    alpha = level * (gain / (DIFFERENCE_FULL - DIFFERENCE_FLOOR))
    return np.clip(alpha, 0.0, 1.0)


def difference_matte(rgb: np.ndarray, alpha: np.ndarray, settings: MatteSettings) -> np.ndarray:
    """Premultiplied RGBA of the generated picture where it differs from the plate."""
    shaped = _shape(np.clip(np.asarray(alpha, np.float32), 0.0, 1.0), settings)
    return with_alpha(np.asarray(rgb, np.float32)[:, :, :3] * shaped[:, :, None], shaped)


def key(rgb: np.ndarray, settings: MatteSettings) -> np.ndarray:
    """A keyed method (black, green, blue) on one frame; `none` is opaque."""
    if settings.method == "black":
        return black_key(rgb, settings)
    if settings.method in SCREEN_CHANNEL:
        return screen_key(rgb, settings.method, settings)
    if settings.method == "none":
        colour = np.asarray(rgb, np.float32)[:, :, :3]
        return np.concatenate([colour, np.ones((*colour.shape[:2], 1), np.float32)], axis=2)
    raise ValueError(f"matte {settings.method!r} needs a mask or a plate, not only a picture")


def _shape(alpha: np.ndarray, settings: MatteSettings) -> np.ndarray:
    """Gamma, choke and feather on an alpha in [0, 1]."""
    if settings.gamma != 1.0:
        alpha = np.power(alpha, 1.0 / settings.gamma, dtype=np.float32)
    if settings.choke > 0:
        alpha = erode(alpha, settings.choke)
    if settings.feather > 0:
        alpha = np.clip(blur(alpha, settings.feather), 0.0, 1.0)
    return alpha.astype(np.float32, copy=False)


def with_alpha(premult: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Premultiplied RGBA with RGB exactly 0 wherever alpha is exactly 0."""
    out = np.empty((*alpha.shape, 4), np.float32)
    out[:, :, :3] = premult
    out[:, :, 3] = alpha
    out[alpha <= 0.0] = 0.0
    return out
