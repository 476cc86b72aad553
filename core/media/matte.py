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
  by the screen channel) and followed across it by a smooth surface fitted to the clean
  screen, so an unevenly lit screen keys; alpha is one minus the screen difference (the
  screen channel above the larger of the other two) relative to the screen's there. That
  assumes a neutral element: one whose colour leans away from the screen (orange fire over
  green) would read as more opaque than it is. So where the element shows its own colour
  (its most opaque pixels), that colour's hue is spread over its soft parts and alpha is
  solved from the compositing equation along it (`_alpha_along_hue`). An element with no
  opaque pixel at all (thin fire) gives no true hue: its hue is then read from its densest,
  still partly transparent pixels, and it keys more opaque than it is, less so than by the
  screen difference alone (key thin fire off black). The screen is subtracted from the
  picture in proportion to its transparency (unmixing), and what spill remains is limited.
- `mask`: the given mask, feathered inward.
- `difference`: alpha where a generated frame differs from the plate it was made from.
- `model`: the alpha a model's own alpha pass generated beside the frames (straight, made at
  the model size and resized with the colour); the colour is premultiplied by it as generated.

`choke` erodes the matte by that many pixels, `feather` softens it over that many pixels.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..job import Matte
from .geometry import blur, erode
from .geometry import feather as feather_inward

SCREEN_CHANNEL = {"green": 1, "blue": 2}
NOISE_SIGMAS = 6.0
"""The black floor sits this many noise deviations above the background's level."""
MAX_FLOOR = 0.05
SCREEN_CLIP = 0.04
"""Where the screen alpha, averaged over 3x3 pixels (which divides grain by three), is below
this, it is background grain (0); above 1 - this, solid (1)."""
SCREEN_CLEAN = 0.2
"""A tile is fitted as screen when its strongest pixels are within this of the sampled
screen's difference (loose: the fit then drops the tiles weaker than its surface)."""
SCREEN_TILE = 64
"""The screen's colour is measured per tile of this many pixels, so an uneven screen keys."""
HUE_EXCESS = 0.05
"""A pixel leans away from the screen (shows the element's own colour) when its screen
difference is below minus this fraction of the screen's (grain stays within it)."""
HUE_MIN_PIXELS = 16
HUE_SHARPNESS = 8
"""The power of the lean that weighs a pixel's hue: the most opaque pixels speak."""
HUE_APART = 0.05
"""The element's hue is told from the screen's where the squared sine between them exceeds
this; otherwise the screen difference keys."""
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
        return dataclasses.asdict(self)


def black_key(rgb: np.ndarray, settings: MatteSettings) -> np.ndarray:
    """Premultiplied RGBA of an element over black: colour as generated, alpha from intensity."""
    colour = np.asarray(rgb, dtype=np.float32)[:, :, :3]
    intensity = np.maximum(_brightest(colour), 0.0)
    floor = noise_floor(colour)
    alpha = (intensity - floor) * (settings.gain / max(1.0 - floor, 1e-6))
    np.clip(alpha, 0.0, 1.0, out=alpha)
    alpha = _shape(alpha, settings)
    return with_alpha(np.maximum(colour, 0.0), alpha)


def _brightest(colour: np.ndarray) -> np.ndarray:
    """The largest of the three channels (faster than a reduction over a length-3 axis)."""
    return np.maximum(np.maximum(colour[..., 0], colour[..., 1]), colour[..., 2])


def noise_floor(colour: np.ndarray) -> float:
    """The level below which a frame over black holds only background grain.

    The background's level is the median intensity of the darkest quarter of pixels; the
    grain's deviation is the largest channel's, from neighbouring pixels' differences (robust
    to the element's edges, which are few). The floor is the level plus `NOISE_SIGMAS`
    deviations, at most `MAX_FLOOR`.
    """
    return sample_floor(colour[::4, ::4])


def sample_floor(sample: np.ndarray) -> float:
    """`noise_floor` from a frame's every fourth row and column (what it looks at)."""
    if sample.shape[0] * sample.shape[1] < 4:
        return 0.0
    flat = np.maximum(_brightest(sample), 0.0).ravel()
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
    hue = _element_hue(colour, backing_plane, channel)
    if hue is not None:
        alpha = _alpha_along_hue(colour, backing_plane, hue, alpha, settings.gain)
    steady = blur(alpha, 2.0)
    alpha[steady < SCREEN_CLIP] = 0.0
    alpha[steady > 1.0 - SCREEN_CLIP] = 1.0
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


def _element_hue(colour: np.ndarray, backing: np.ndarray, channel: int) -> np.ndarray | None:
    """The element's hue (unit RGB) at every pixel, from its most opaque pixels, or None.

    A pixel whose colour leans further from the screen than any thin element of neutral
    colour could (the screen difference below zero) shows the element's own colour; the
    further, the more opaque. Weighted by that excess (relative to the frame's largest, to
    the `HUE_SHARPNESS` power, so the most opaque pixels speak for their surroundings), their hues
    are pushed down a pyramid of 2x2 sums and pulled back up, each level filling what it
    does not know from the one below, so every pixel has the hue of the nearest opaque
    part of the element. None when no pixel leans away from the screen (a neutral element,
    which the screen difference already keys).
    """
    half, screen = colour[::2, ::2], backing[::2, ::2]
    reference = np.maximum(_dominance(screen, channel), 1e-6)
    excess = -_dominance(half, channel) / reference
    leaning = excess > HUE_EXCESS
    if leaning.sum() < HUE_MIN_PIXELS:
        return None
    weight = np.where(leaning, excess / np.percentile(excess[leaning], 99.9), 0.0) ** HUE_SHARPNESS
    weight = weight.astype(np.float32)
    norm = np.sqrt(_dot(half, half))
    sums = half * (weight / np.maximum(norm, 1e-6))[:, :, None]
    levels = [(sums, weight)]
    while min(levels[-1][1].shape) > 2:
        levels.append((_pool(levels[-1][0]), _pool(levels[-1][1])))
    sums, weight = levels[-1]
    hue = np.broadcast_to(sums.sum(axis=(0, 1)) / weight.sum(), (*weight.shape, 3))
    for sums, weight in reversed(levels[:-1]):
        coarse = _double(hue, weight.shape)
        trust = np.minimum(weight, 1.0)[:, :, None]
        hue = sums / np.maximum(weight, 1e-12)[:, :, None] * trust + coarse * (1.0 - trust)
    hue = hue / np.maximum(np.sqrt(_dot(hue, hue)), 1e-6)[:, :, None]
    return _double(hue.astype(np.float32), colour.shape[:2], soften=False)


def _pool(plane: np.ndarray) -> np.ndarray:
    """Sums of 2x2 blocks (an odd last row or column is dropped)."""
    rows, cols = plane.shape[0] // 2, plane.shape[1] // 2
    blocks = plane[: rows * 2, : cols * 2].reshape(rows, 2, cols, 2, *plane.shape[2:])
    return blocks.sum(axis=(1, 3))


def _double(image: np.ndarray, shape: tuple[int, ...], soften: bool = True) -> np.ndarray:
    """(rows, cols, C) image twice the size at exactly `shape` (edges repeated), by default
    softened by a 2x2 box so coarse levels do not show as blocks."""
    big = np.repeat(np.repeat(image, 2, axis=0), 2, axis=1)[: shape[0], : shape[1]]
    pad = ((0, shape[0] - big.shape[0]), (0, shape[1] - big.shape[1]), (0, 0))
    big = np.pad(big, pad, mode="edge")
    if soften:
        big[1:] = (big[1:] + big[:-1]) * 0.5
        big[:, 1:] = (big[:, 1:] + big[:, :-1]) * 0.5
    return big


def _alpha_along_hue(
    colour: np.ndarray, backing: np.ndarray, hue: np.ndarray, fallback: np.ndarray, gain: float
) -> np.ndarray:
    """Alpha from the compositing equation with the element's colour along its hue.

    C = a F + (1 - a) S with F = k h (h the element's hue, k its brightness, free) gives
    C - S = (a k) h - a S: two unknowns, three equations, solved per pixel in least squares.
    As for the screen difference, `gain` scales the transparency. The same fit with a grey
    hue tells how well a neutral element explains the pixel: each pixel takes the element's
    hue and the screen difference (`fallback`) in inverse proportion to how badly each
    model fits there (`_hue_share`, at half size), so neutral smoke drifting past an orange
    core keeps its own alpha. Where a hue is too close to the screen's to tell them apart,
    the screen difference stands.
    """
    difference = colour - backing
    ds, ss = _dot(difference, backing), _dot(backing, backing)
    hs = _dot(hue, backing)
    alpha, apart = _solve(ds, ss, _dot(difference, hue), hs)
    alpha = 1.0 - (1.0 - alpha) * gain
    np.clip(alpha, 0.0, 1.0, out=alpha)
    share = _hue_share(difference[::2, ::2], backing[::2, ::2], hue[::2, ::2])
    share = _double(share[:, :, None], alpha.shape, soften=False)[:, :, 0]
    blended = share * alpha + (1.0 - share) * fallback
    return np.where(apart, blended, fallback).astype(np.float32)


def _hue_share(difference: np.ndarray, backing: np.ndarray, hue: np.ndarray) -> np.ndarray:
    """How much the element's hue explains each pixel better than a grey one: the grey fit's
    squared residual over both fits' (each averaged over a few pixels)."""
    dd, ds, ss = _dot(difference, difference), _dot(difference, backing), _dot(backing, backing)
    root = np.float32(1.0 / np.sqrt(3.0))
    misfits = []
    for dh, hs in (
        (_dot(difference, hue), _dot(hue, backing)),
        (difference.sum(axis=2) * root, backing.sum(axis=2) * root),
    ):
        alpha, apart = _solve(ds, ss, dh, hs)
        residual = dd - (dh + alpha * hs) * dh + alpha * ds
        misfits.append(blur(np.where(apart, np.maximum(residual, 0.0), 0.0), 1.0))
    return misfits[1] / np.maximum(misfits[0] + misfits[1], 1e-12)


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per pixel dot product of two (H, W, 3) images."""
    return a[:, :, 0] * b[:, :, 0] + a[:, :, 1] * b[:, :, 1] + a[:, :, 2] * b[:, :, 2]


def _solve(
    ds: np.ndarray, ss: np.ndarray, dh: np.ndarray, hs: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel least squares of d = p h - a S (h a unit hue) from the dot products of d,
    S and h: a (0 where not apart), and where h and S are apart enough in direction (squared
    sine over `HUE_APART`) to tell."""
    determinant = ss - hs * hs
    apart = determinant > HUE_APART * ss
    alpha = (hs * dh - ds) / np.where(apart, determinant, 1.0)
    return np.where(apart, alpha, 0.0), apart


def _screen_plane(colour: np.ndarray, channel: int, backing: np.ndarray) -> np.ndarray:
    """The screen's colour at every pixel: a smooth (quadratic) surface through the screen.

    Per tile of `SCREEN_TILE` pixels, the screen is the pixels whose screen difference is
    within `SCREEN_CLIP` of the tile's strongest tenth (an element only ever lowers the
    difference). A quadratic in x and y is fitted to the tiles that show screen, and refitted
    without the tiles it finds weaker than the surface (those under thin smoke), so an
    unevenly lit screen keys without the element leaking into its estimate.
    """
    height, width = colour.shape[:2]
    half = colour[::2, ::2]
    side = SCREEN_TILE // 2
    rows, cols = -(-half.shape[0] // side), -(-half.shape[1] // side)
    pad = ((0, rows * side - half.shape[0]), (0, cols * side - half.shape[1]), (0, 0))
    tiles = np.pad(half, pad, mode="edge").reshape(rows, side, cols, side, 3)
    tiles = tiles.transpose(0, 2, 1, 3, 4).reshape(rows, cols, side * side, 3)
    strength = _dominance(tiles, channel)
    rank = int(0.9 * side * side)
    top = np.partition(strength, rank, axis=2)[:, :, rank]
    reference = float(_dominance(backing, channel))
    clean = strength >= (top - SCREEN_CLIP * reference)[:, :, None]
    grid = (tiles * clean[:, :, :, None]).sum(axis=2) / np.maximum(clean.sum(axis=2), 1)[:, :, None]
    ys = (np.arange(rows, dtype=np.float64) + 0.5) * SCREEN_TILE / height * 2.0 - 1.0
    xs = (np.arange(cols, dtype=np.float64) + 0.5) * SCREEN_TILE / width * 2.0 - 1.0
    basis = _quadratic(ys[:, None] * np.ones((1, cols)), np.ones((rows, 1)) * xs[None, :])
    used = (top >= (1.0 - SCREEN_CLEAN) * reference).ravel()
    values = grid.reshape(-1, 3).astype(np.float64)
    if used.sum() < 6:
        return np.broadcast_to(backing, colour.shape).astype(np.float32)
    for _ in range(3):
        coefficients = np.linalg.lstsq(basis[used], values[used], rcond=None)[0]
        fitted = basis @ coefficients
        shortfall = _dominance(fitted, channel) - _dominance(values, channel)
        keep = used & (shortfall <= SCREEN_CLIP * reference / 2)
        if keep.sum() < 6 or (keep == used).all():
            break
        used = keep
    py = np.linspace(-1.0, 1.0, height, dtype=np.float32) * (1 - 1 / height)
    px = np.linspace(-1.0, 1.0, width, dtype=np.float32) * (1 - 1 / width)
    c = coefficients.astype(np.float32)
    y, x = py[:, None, None], px[None, :, None]
    return c[0] + c[1] * y + c[2] * x + c[3] * y * y + c[4] * x * y + c[5] * x * x


def _quadratic(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """(N, 6) basis 1, y, x, y^2, xy, x^2 of a grid of positions in [-1, 1]."""
    y, x = y.ravel(), x.ravel()
    return np.stack([np.ones_like(y), y, x, y * y, x * y, x * x], axis=1)


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


def model_matte(rgb: np.ndarray, alpha: np.ndarray, settings: MatteSettings) -> np.ndarray:
    """Premultiplied RGBA of a picture and the straight alpha a model generated for it."""
    return difference_matte(rgb, alpha, settings)


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
    np.copyto(out, 0.0, where=(alpha <= 0.0)[:, :, None])
    return out
