"""A model space -> working space conversion baked for torch, checked against OCIO's CPU result.

Model frames are display-referred values in [0, 1], so the conversion's whole domain is the
unit cube. It is baked in one of two forms:

- `curves`: when the processor is a per-channel curve followed by a matrix (a plain colour
  space such as sRGB texture -> linear Rec.709), f(r, g, b) = f(r, 0, 0) + f(0, g, 0) +
  f(0, 0, b) - 2 f(0, 0, 0) holds exactly; three 1D tables of RGB (`CURVE_SIZE` entries)
  carry it, interpolated linearly.
- `lut`: otherwise (a view's inverse output transform, which is not separable) a 3D LUT of
  `LUT_SIZE` points a side, interpolated trilinearly. Its outputs are stored through an
  asinh shaper (`SHAPER_SCALE`), so the highlights an inverse view returns (values far
  above 1.0) are interpolated in a log-like encoding rather than linearly. An inverse
  output transform bends sharply near the display's gamut boundary and its white (ACES
  2.0's returns 128 for display white and changes by tens within a 65th of the cube), where
  no LUT of a practical size follows it: the LUT's cells whose centre comes near missing
  `TOLERANCE` are marked with their neighbours, and pixels falling in a marked cell are converted by the CPU processor
  exactly; where more than `MAX_EXACT_SHARE` of the cells are marked, the LUT is not used
  at all (a probe of `PROBE_CELLS` random cells tells that before a whole LUT is built). The ACES 2.0 SDR views of OCIO's built-in configs are such a case: their inverse
  is rough even near black, where most of an element over black lies.

Either form is checked on `SAMPLES` points (random, fixed seed, plus a grey ramp and the
cube's edges) against the CPU processor; a LUT's cells holding a failing point are marked
too and the check repeated on fresh points. Where the error still exceeds `TOLERANCE`
(relative to the reference value, or absolute below 1.0), the bake is refused (`kind`
`ocio`) and the CPU processor stays in use; the placement in the take record says which
form is used, its measured error and the share of the LUT's cells done exactly.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .colour import ModelSpace, apply_processor, from_model_processor

if TYPE_CHECKING:
    import torch

CURVE_SIZE = 4096
LUT_SIZE = 65
SHAPER_SCALE = 0.01
TOLERANCE = 1e-3
"""Largest error allowed, relative to the value (absolute below 1.0): about two half-float
steps (a half holds 4.9e-4 relative)."""
SAMPLES = 20000
SEPARABLE_TOLERANCE = 1e-5
MAX_EXACT_SHARE = 0.25
"""A LUT whose cells are done exactly in a larger share than this is not worth applying."""
PROBE_CELLS = 2000
CENTRE_MARGIN = 0.25
"""A LUT cell is done exactly when its centre is off by more than this share of `TOLERANCE`
(or a neighbour's is): the centre is where trilinear interpolation strays most."""


@dataclass(frozen=True)
class BakedColour:
    """One model space -> working space conversion in a form torch applies (or `ocio`)."""

    kind: str
    """`identity`, `curves`, `lut` or `ocio` (not baked: the CPU processor is used)."""
    max_error: float | None
    """Against OCIO's CPU result on the check's points (None: refused before a bake)."""
    tables: np.ndarray | None = None
    """curves: (3, CURVE_SIZE, 3), one RGB curve per input channel, f(0) removed from all
    but the first; lut: (LUT_SIZE, LUT_SIZE, LUT_SIZE, 3) shaped outputs indexed [r, g, b]."""
    exact: np.ndarray | None = None
    """lut: (LUT_SIZE - 1) ** 3 booleans, the cells converted by `processor` instead."""
    processor: Any = None
    reason: str = ""

    def describe(self) -> dict[str, object]:
        out: dict[str, object] = {"form": self.kind, "max_error": self.max_error}
        if self.exact is not None:
            out["exact_cells"] = round(float(self.exact.mean()), 4)
        if self.reason:
            out["reason"] = self.reason
        return out

    def apply(self, rgb: torch.Tensor) -> torch.Tensor:
        """(3, H, W) model-space values in [0, 1] -> working space (same device)."""
        if self.kind == "identity":
            return rgb
        if self.tables is None:
            raise ValueError(f"a {self.kind} conversion is not applied by torch")
        import torch

        tables = torch.from_numpy(self.tables).to(rgb.device)
        if self.kind == "curves":
            return _curves(tables, rgb)
        shaped, cells = _trilinear(tables, rgb)
        out = torch.sinh(shaped) * SHAPER_SCALE
        if self.exact is not None:
            self._exact_cells(rgb, out, cells)
        return out

    def _exact_cells(self, rgb: torch.Tensor, out: torch.Tensor, cells: torch.Tensor) -> None:
        """Pixels in the marked cells, converted by the CPU processor, written into `out`."""
        import torch

        assert self.exact is not None
        marked = torch.from_numpy(self.exact).to(rgb.device)[cells]
        if not bool(marked.any()):
            return
        chosen = rgb[:, marked].T.contiguous().cpu().numpy()
        exact = apply_processor(self.processor, chosen)
        out[:, marked] = torch.from_numpy(exact).to(out.device).T


def _positions(values: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Lower table index and the fraction towards the next, for values in [0, 1]."""
    import torch

    scaled = values.clamp(0.0, 1.0) * (size - 1)
    low = scaled.floor().clamp(max=size - 2)
    return low.to(torch.int64), scaled - low


def _curves(tables: torch.Tensor, rgb: torch.Tensor) -> torch.Tensor:
    out = None
    for channel in range(3):
        low, frac = _positions(rgb[channel], tables.shape[1])
        curve = tables[channel]
        below, above = curve[low], curve[low + 1]
        term = below + (above - below) * frac[..., None]
        out = term if out is None else out + term
    assert out is not None
    return out.permute(2, 0, 1)


def _trilinear(lut: torch.Tensor, rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The interpolated (3, H, W) shaped values and each pixel's cell index."""
    size = lut.shape[0]
    flat = lut.reshape(-1, 3)
    (r, fr), (g, fg), (b, fb) = (_positions(rgb[c], size) for c in range(3))
    base = (r * size + g) * size + b
    fr, fg, fb = fr[..., None], fg[..., None], fb[..., None]
    out = None
    for dr, wr in ((0, 1.0 - fr), (1, fr)):
        for dg, wg in ((0, 1.0 - fg), (1, fg)):
            for db, wb in ((0, 1.0 - fb), (1, fb)):
                term = flat[base + ((dr * size + dg) * size + db)] * (wr * wg * wb)
                out = term if out is None else out + term
    assert out is not None
    cells = (r * (size - 1) + g) * (size - 1) + b
    return out.permute(2, 0, 1), cells


@functools.lru_cache(maxsize=16)
def bake(config: str, model: ModelSpace, working: str) -> BakedColour:
    """The model -> working conversion of a job's colour, baked and checked (see the module)."""
    processor = from_model_processor(config, model, working)
    if processor is None:
        return BakedColour("identity", 0.0)
    if _separable(processor):
        baked = BakedColour("curves", 0.0, _curve_tables(processor))
    else:
        share = _missing_share(processor)
        if share > MAX_EXACT_SHARE:
            return BakedColour("ocio", None, reason=_too_rough(share, "about "))
        baked = _lut(processor)
    samples = _samples(1)
    error, failing = _errors(baked, samples, apply_processor(processor, samples))
    if baked.exact is not None and failing.size and baked.exact.mean() <= MAX_EXACT_SHARE:
        exact = baked.exact.copy()
        exact[_cells_of(samples[failing])] = True
        baked = BakedColour("lut", 0.0, baked.tables, exact, processor)
        samples = _samples(2)
        error, _ = _errors(baked, samples, apply_processor(processor, samples))
    if not error <= TOLERANCE:
        reason = f"a {baked.kind} bake is off by {error:.2g}, more than {TOLERANCE:g}"
        return BakedColour("ocio", error, reason=reason)
    if baked.exact is not None and baked.exact.mean() > MAX_EXACT_SHARE:
        return BakedColour("ocio", error, reason=_too_rough(float(baked.exact.mean())))
    return BakedColour(baked.kind, error, baked.tables, baked.exact, baked.processor)


def _too_rough(share: float, about: str = "") -> str:
    return (
        f"{about}{share:.0%} of a {LUT_SIZE}-point LUT's cells would be converted exactly (more than "
        f"{MAX_EXACT_SHARE:.0%}): the CPU processor is used throughout"
    )


def _missing_share(processor: Any) -> float:
    """The share of `PROBE_CELLS` random LUT cells whose centre, interpolated from its
    corners, misses `CENTRE_MARGIN` of `TOLERANCE`: a quick lower bound of the share a
    whole bake would mark, before building one."""
    cells = LUT_SIZE - 1
    low = np.random.default_rng(11).integers(0, cells, (PROBE_CELLS, 3))
    corners = np.array([(r, g, b) for r in (0, 1) for g in (0, 1) for b in (0, 1)])
    points = ((low[:, None, :] + corners[None]) / cells).reshape(-1, 3).astype(np.float32)
    shaped = np.arcsinh(apply_processor(processor, points) / SHAPER_SCALE)
    guess = np.sinh(shaped.reshape(PROBE_CELLS, 8, 3).mean(axis=1)) * SHAPER_SCALE
    want = apply_processor(processor, ((low + 0.5) / cells).astype(np.float32))
    error = np.abs(guess - want) / np.maximum(np.abs(want), 1.0)
    return float((np.nan_to_num(error, nan=np.inf).max(axis=1) > CENTRE_MARGIN * TOLERANCE).mean())


def _samples(seed: int) -> np.ndarray:
    """Points of the unit cube the bake is checked on: random, a grey ramp, the cube's edges."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0.0, 1.0, 1001, dtype=np.float32)
    zeros, ones = np.zeros_like(ramp), np.ones_like(ramp)
    edges = [np.stack([ramp, ramp, ramp], axis=1)]
    for axis in range(3):
        for fill in (zeros, ones):
            columns = [fill, fill, fill]
            columns[axis] = ramp
            edges.append(np.stack(columns, axis=1))
    points = rng.random((SAMPLES, 3), dtype=np.float32)
    return np.concatenate([points, *edges]).astype(np.float32)


def _separable(processor: Any) -> bool:
    """Whether the processor is per-channel curves followed by a matrix (additive per channel)."""
    points = np.random.default_rng(7).random((512, 3), dtype=np.float32)
    whole = apply_processor(processor, points)
    parts = [apply_processor(processor, _only(points, axis)) for axis in range(3)]
    origin = apply_processor(processor, np.zeros((1, 3), np.float32))
    summed = parts[0] + parts[1] + parts[2] - 2.0 * origin
    scale = np.maximum(np.abs(whole), 1.0)
    return bool(np.all(np.abs(summed - whole) <= SEPARABLE_TOLERANCE * scale))


def _only(points: np.ndarray, axis: int) -> np.ndarray:
    out = np.zeros_like(points)
    out[:, axis] = points[:, axis]
    return out


def _curve_tables(processor: Any) -> np.ndarray:
    ramp = np.linspace(0.0, 1.0, CURVE_SIZE, dtype=np.float32)[:, None] * np.ones(3, np.float32)
    origin = apply_processor(processor, np.zeros((1, 3), np.float32))[0]
    tables = np.stack([apply_processor(processor, _only(ramp, axis)) for axis in range(3)])
    tables[1:] -= origin
    return np.ascontiguousarray(tables, dtype=np.float32)


def _lut(processor: Any) -> BakedColour:
    """The shaped 3D LUT, its cells whose centre misses `TOLERANCE` marked as exact."""
    axis = np.linspace(0.0, 1.0, LUT_SIZE, dtype=np.float32)
    grid = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), axis=-1)
    values = apply_processor(processor, grid.reshape(-1, 3)).reshape(grid.shape)
    shaped = np.ascontiguousarray(np.arcsinh(values / SHAPER_SCALE), dtype=np.float32)
    cells = LUT_SIZE - 1
    centre = (axis[:-1] + axis[1:]) / 2
    middles = np.stack(np.meshgrid(centre, centre, centre, indexing="ij"), axis=-1).reshape(-1, 3)
    unmarked = BakedColour("lut", 0.0, shaped, np.zeros(cells**3, bool), processor)
    _, failing = _errors(unmarked, middles, apply_processor(processor, middles), CENTRE_MARGIN)
    exact = np.zeros(cells**3, bool)
    exact[failing] = True
    return BakedColour("lut", 0.0, shaped, _grown(exact.reshape((cells,) * 3)).ravel(), processor)


def _grown(marked: np.ndarray) -> np.ndarray:
    """Marked cells and their 26 neighbours."""
    padded = np.pad(marked, 1)
    out = np.zeros_like(marked)
    n = marked.shape[0]
    for dr in range(3):
        for dg in range(3):
            for db in range(3):
                out |= padded[dr : dr + n, dg : dg + n, db : db + n]
    return out


def _cells_of(points: np.ndarray) -> np.ndarray:
    """The LUT cell index of each (N, 3) point."""
    cells = LUT_SIZE - 1
    low = np.minimum(np.floor(np.clip(points, 0.0, 1.0) * cells), cells - 1).astype(np.int64)
    return (low[:, 0] * cells + low[:, 1]) * cells + low[:, 2]


def _errors(
    baked: BakedColour, samples: np.ndarray, reference: np.ndarray, share: float = 1.0
) -> tuple[float, np.ndarray]:
    """The torch-applied bake's largest error on `samples` (relative above 1.0) and the
    indices of the samples beyond `share` of `TOLERANCE`."""
    import torch

    points = torch.from_numpy(np.ascontiguousarray(samples.T.reshape(3, -1, 1)))
    got = baked.apply(points).reshape(3, -1).T.numpy()
    scale = np.maximum(np.abs(reference), 1.0)
    error = np.nan_to_num(np.abs(got - reference) / scale, nan=np.inf).max(axis=1)
    return float(error.max()), np.flatnonzero(error > share * TOLERANCE)
