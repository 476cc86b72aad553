"""Colour conversion through OpenColorIO: model space (display-referred sRGB) <-> working space."""

from __future__ import annotations

import functools
import os
from typing import Any

import numpy as np

from core.errors import InvalidField

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
    """Convert an (..., 3) float32 array in place-safe fashion; returns a new contiguous array."""
    import PyOpenColorIO as ocio

    out = np.ascontiguousarray(pixels, dtype=np.float32).copy()
    if check_space(config, src, "model_space") == check_space(config, dst, "working_space"):
        return out
    flat = out.reshape(-1, 3)
    desc = ocio.PackedImageDesc(flat, flat.shape[0], 1, 3)
    _cpu_processor(config, src, dst).apply(desc)
    return out
