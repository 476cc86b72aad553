"""Small PNG views of scene-linear frames, as a supervisor sees them in a viewer.

A frame is composited over a dark grey (so alpha shows), shown through the OCIO config's
default display and view (e.g. sRGB - Display, ACES 1.0 - SDR Video), never as raw linear
values, and scaled down with a real filter before it is encoded as an 8-bit PNG.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass

import numpy as np

from ..errors import RuntimeFailure
from .colour import config_name, load_config
from .resize import resize

BACKDROP = 0.05
"""Scene-linear grey behind the element: dark enough for smoke and dust to read."""


@dataclass(frozen=True)
class ViewTransform:
    """The working space a frame is in, and the display and view it is shown through."""

    config: str
    working_space: str
    display: str
    view: str

    @property
    def label(self) -> str:
        return f"{self.working_space} -> {self.display} / {self.view}"


def default_view(config: str | None, working_space: str) -> ViewTransform:
    """The config's default display and view for frames in `working_space`."""
    name = config_name(config)
    loaded = load_config(name)
    display = str(loaded.getDefaultDisplay())
    return ViewTransform(name, working_space, display, str(loaded.getDefaultView(display)))


def display_pixels(rgba: np.ndarray, view: ViewTransform) -> np.ndarray:
    """(H, W, 3) display values in [0, 1]: the frame over the backdrop, through the view."""
    import PyOpenColorIO as ocio

    rgb = np.ascontiguousarray(rgba[..., :3], dtype=np.float32)
    if rgba.shape[-1] >= 4:
        alpha = rgba[..., 3:4].astype(np.float32)
        rgb = rgb + (1.0 - np.clip(alpha, 0.0, 1.0)) * BACKDROP
    out = np.nan_to_num(rgb, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32).copy()
    transform = ocio.DisplayViewTransform(
        src=view.working_space, display=view.display, view=view.view
    )
    processor = load_config(view.config).getProcessor(transform).getDefaultCPUProcessor()
    flat = out.reshape(-1, 3)
    processor.apply(ocio.PackedImageDesc(flat, flat.shape[0], 1, 3))
    return np.clip(out, 0.0, 1.0)


def thumbnail_png(rgba: np.ndarray, view: ViewTransform, width: int = 240) -> bytes:
    """An 8-bit PNG of the frame through the view, at most `width` pixels wide."""
    import OpenImageIO as oiio

    shown = display_pixels(rgba, view)
    height, full_width = shown.shape[:2]
    if full_width > width:
        shown = resize(shown, width, max(1, round(height * width / full_width)))
    data = np.ascontiguousarray(np.round(np.clip(shown, 0, 1) * 255).astype(np.uint8))
    handle, name = tempfile.mkstemp(suffix=".png")
    os.close(handle)
    try:
        out = oiio.ImageOutput.create(name)
        spec = oiio.ImageSpec(data.shape[1], data.shape[0], 3, oiio.UINT8)
        if out is None or not (out.open(name, spec) and out.write_image(data) and out.close()):
            raise RuntimeFailure(f"cannot encode a thumbnail: {oiio.geterror()}")
        with open(name, "rb") as png:
            return png.read()
    finally:
        os.unlink(name)
