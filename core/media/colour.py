"""Colour conversion through OpenColorIO: working space (scene-linear plate) <-> model space.

Models see display-referred sRGB in [0, 1]; plates and takes are in the script's working
space. The job's OCIO config is used when it names one, else OCIO's built-in default.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import numpy as np

from ..errors import InvalidField

DEFAULT_CONFIG = "ocio://default"


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


@functools.lru_cache(maxsize=16)
def _cpu_processor(config: str, src: str, dst: str) -> Any:
    return load_config(config).getProcessor(src, dst).getDefaultCPUProcessor()


def convert(pixels: np.ndarray, config: str, src: str, dst: str) -> np.ndarray:
    """Convert an (..., 3) float32 array from `src` to `dst`; returns a new contiguous array."""
    import PyOpenColorIO as ocio

    out = np.ascontiguousarray(pixels, dtype=np.float32).copy()
    if _canonical(config, src) == _canonical(config, dst):
        return out
    flat = out.reshape(-1, 3)
    desc = ocio.PackedImageDesc(flat, flat.shape[0], 1, 3)
    _cpu_processor(config, src, dst).apply(desc)
    return out


def to_model_space(pixels: np.ndarray, config: str, working: str, model: str) -> np.ndarray:
    """Plate pixels (working space) as a model sees them: display-referred, clipped to [0, 1].

    Values above 1.0 cannot be represented in the model's space; they are clipped here, on
    the copy sent to the model only. The plate itself is never changed.
    """
    out = convert(pixels, config, working, model)
    np.clip(out, 0.0, 1.0, out=out)
    return out


def from_model_space(pixels: np.ndarray, config: str, model: str, working: str) -> np.ndarray:
    """Model output (display-referred) back into the plate's working space."""
    return convert(pixels, config, model, working)


def _canonical(config: str, space: str) -> str:
    cs = load_config(config).getColorSpace(space)
    return str(cs.getName()) if cs is not None else space
