"""Colour conversion through OpenColorIO: working space (scene-linear plate) <-> model space.

Models see display-referred pictures in [0, 1]. The model space is either a display/view of
the job's OCIO config (`DISPLAY/VIEW`; by default the config's default display and view,
e.g. an ACES SDR output transform) or a plain colour space (e.g. `srgb_tx`, the old
behaviour that clips everything above 1.0). Plates go to the model through the forward view
transform, which compresses highlights and gamut instead of clipping them; model output
comes back through the inverse, so a bright generated pixel becomes a scene-linear value
above 1.0, as the viewer would show it. The job's OCIO config is used when it names one,
else OCIO's built-in default.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InvalidField

DEFAULT_CONFIG = "ocio://default"
VIEW_SEPARATOR = "/"
ROUND_TRIP_TOLERANCE = 1e-3
"""Relative error a value may pick up through a view and back and still count as returned
(half float holds about 4.9e-4)."""
PROBE_VALUES = tuple(float(v) for v in np.geomspace(1e-3, 1024.0, 64))


def config_name(requested: str | None) -> str:
    """The job's config, else the built-in default. `$OCIO` is the CLI's default, not the engine's."""
    return requested or DEFAULT_CONFIG


@functools.lru_cache(maxsize=8)
def load_config(name: str) -> Any:
    import PyOpenColorIO as ocio

    try:
        if name.startswith("ocio://"):
            return ocio.Config.CreateFromBuiltinConfig(name)
        if not os.path.isfile(name):
            raise InvalidField("ocio_config", name, "an existing .ocio file or an ocio:// built-in")
        return ocio.Config.CreateFromFile(name)
    except ocio.Exception as exc:
        raise InvalidField("ocio_config", name, f"a loadable OCIO config ({exc})") from None


def check_space(config: str, space: str, field: str) -> str:
    """The canonical name of `space` (aliases allowed) in `config`, or an error naming `field`."""
    cs = load_config(config).getColorSpace(space)
    if cs is None:
        names = list(load_config(config).getColorSpaceNames())
        shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
        raise InvalidField(field, space, f"a colour space of {config} ({shown})")
    return str(cs.getName())


@dataclass(frozen=True)
class View:
    """A display/view of a config: what the model sees is what that viewer shows."""

    display: str
    view: str

    def __str__(self) -> str:
        return f"{self.display}{VIEW_SEPARATOR}{self.view}"


ModelSpace = View | str
"""A display/view, or the canonical name of a plain colour space."""


def check_model_space(config: str, requested: str | None, field: str = "model_space") -> ModelSpace:
    """The job's model space: None is the config's default display and view.

    A colour space name (aliases allowed) is a plain colour space; `DISPLAY/VIEW` names a
    view. Anything else is refused, listing the config's displays and views.
    """
    cfg = load_config(config)
    if requested is None:
        display = str(cfg.getDefaultDisplay())
        return View(display, str(cfg.getDefaultView(display)))
    cs = cfg.getColorSpace(requested)
    if cs is not None:
        return str(cs.getName())
    display, sep, view = requested.partition(VIEW_SEPARATOR)
    if sep and display in list(cfg.getDisplays()) and view in list(cfg.getViews(display)):
        return View(display, view)
    default = cfg.getDefaultDisplay()
    views = ", ".join(f"{default}/{v}" for v in cfg.getViews(default))
    raise InvalidField(
        field, requested, f"a colour space of {config} or DISPLAY/VIEW, e.g. {views}"
    )


def parse_model_space(config: str, value: str) -> ModelSpace:
    """A model space as recorded (`str(View)` or a colour space name) back to its value."""
    return check_model_space(config, value)


@functools.lru_cache(maxsize=32)
def _cpu_processor(config: str, src: str, dst: str) -> Any:
    return load_config(config).getProcessor(src, dst).getDefaultCPUProcessor()


@functools.lru_cache(maxsize=32)
def _view_processor(config: str, working: str, view: View, inverse: bool) -> Any:
    import PyOpenColorIO as ocio

    direction = ocio.TRANSFORM_DIR_INVERSE if inverse else ocio.TRANSFORM_DIR_FORWARD
    cfg = load_config(config)
    return cfg.getProcessor(working, view.display, view.view, direction).getDefaultCPUProcessor()


def apply_processor(processor: Any, pixels: np.ndarray) -> np.ndarray:
    """`processor` applied to an (..., 3) float32 array (a new array)."""
    import PyOpenColorIO as ocio

    out = np.ascontiguousarray(pixels, dtype=np.float32).copy()
    flat = out.reshape(-1, 3)
    if flat.shape[0]:
        processor.apply(ocio.PackedImageDesc(flat, flat.shape[0], 1, 3))
    return out


def convert(pixels: np.ndarray, config: str, src: str, dst: str) -> np.ndarray:
    """Convert an (..., 3) float32 array from `src` to `dst`; returns a new contiguous array."""
    if _canonical(config, src) == _canonical(config, dst):
        return np.ascontiguousarray(pixels, dtype=np.float32).copy()
    return apply_processor(_cpu_processor(config, src, dst), pixels)


def to_model_space(pixels: np.ndarray, config: str, working: str, model: ModelSpace) -> np.ndarray:
    """Plate pixels (working space) as a model sees them: display-referred, in [0, 1].

    Through a view, highlights and out-of-gamut colours are compressed by the view's
    transform; through a plain colour space they are clipped. Only the copy sent to the
    model changes, never the plate.
    """
    if isinstance(model, View):
        out = apply_processor(_view_processor(config, working, model, False), pixels)
    else:
        out = convert(pixels, config, working, model)
    np.clip(out, 0.0, 1.0, out=out)
    return out


def from_model_space(
    pixels: np.ndarray, config: str, model: ModelSpace, working: str
) -> np.ndarray:
    """Model output (display-referred) back into the plate's working space."""
    processor = from_model_processor(config, model, working)
    if processor is None:
        return np.ascontiguousarray(pixels, dtype=np.float32).copy()
    return apply_processor(processor, pixels)


def from_model_processor(config: str, model: ModelSpace, working: str) -> Any | None:
    """The OCIO CPU processor `from_model_space` applies (None: the spaces are the same)."""
    if isinstance(model, View):
        return _view_processor(config, working, model, True)
    if _canonical(config, model) == _canonical(config, working):
        return None
    return _cpu_processor(config, model, working)


@dataclass(frozen=True)
class ReturnRange:
    """The scene-linear grey values a model space returns within `ROUND_TRIP_TOLERANCE`.

    `low`/`high` bound the probed values (1e-3 to 1024) that survive working -> model ->
    working; `peak` is what the model's display white (1.0) comes back as.
    """

    low: float | None
    high: float | None
    peak: float

    @property
    def invertible(self) -> bool:
        return self.high is not None and self.high > 1.0

    def to_dict(self) -> dict[str, float | None]:
        return {"low": self.low, "high": self.high, "peak": self.peak}


@functools.lru_cache(maxsize=16)
def return_range(config: str, working: str, model: ModelSpace) -> ReturnRange:
    """Probe which grey values a model space gives back (see `ReturnRange`)."""
    values = np.array(PROBE_VALUES, dtype=np.float32)
    grey = np.repeat(values[:, None], 3, axis=1)
    back = from_model_space(to_model_space(grey, config, working, model), config, model, working)
    ok = np.all(np.abs(back - grey) <= ROUND_TRIP_TOLERANCE * grey, axis=1)
    peak = float(from_model_space(np.ones((1, 3), np.float32), config, model, working).max())
    if not ok.any():
        return ReturnRange(None, None, peak)
    kept = values[ok]
    return ReturnRange(float(kept.min()), float(kept.max()), peak)


def _canonical(config: str, space: str) -> str:
    cs = load_config(config).getColorSpace(space)
    return str(cs.getName()) if cs is not None else space
