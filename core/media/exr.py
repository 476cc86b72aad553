"""Writing EXR frames with OpenImageIO: RGBA, chosen compression and pixel type, atomic rename.

A frame is written under a temporary name in its final folder and renamed into place only
when complete, so a reader (Nuke, a farm task, `genvfx audit`) never sees half a frame.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import cast

import numpy as np

from ..errors import RuntimeFailure

ATTRIBUTE_PREFIX = "genvfx/"
CHANNELS = ("R", "G", "B", "A")

AttributeValue = str | int | float


def partial_name(final: Path) -> Path:
    """The temporary name a frame is written under; it matches no frame pattern."""
    return final.with_name(f".{final.name}.partial-{os.getpid()}.exr")


def write_exr(
    path: Path,
    rgba: np.ndarray,
    compression: str = "zip",
    pixel_type: str = "half",
    attributes: Mapping[str, AttributeValue] | None = None,
    origin: tuple[int, int] = (0, 0),
) -> None:
    """Write one (H, W, 4) image to `path` atomically; display window = data window at `origin`."""
    import OpenImageIO as oiio

    height, width, channels = rgba.shape
    if channels != 4:
        raise ValueError(f"expected RGBA pixels, got {channels} channels")
    type_desc = oiio.HALF if pixel_type == "half" else oiio.FLOAT
    spec = oiio.ImageSpec(width, height, 4, type_desc)
    spec.x, spec.y = origin
    spec.full_x, spec.full_y = origin
    spec.channelnames = CHANNELS
    spec.alpha_channel = 3
    spec.attribute("compression", compression)
    for key, value in (attributes or {}).items():
        spec.attribute(key, value)
    data = np.ascontiguousarray(rgba, dtype=np.float16 if pixel_type == "half" else np.float32)
    tmp = partial_name(path)
    out = oiio.ImageOutput.create(str(tmp))
    if out is None:
        raise RuntimeFailure(f"cannot create an EXR writer for {tmp}: {oiio.geterror()}")
    try:
        ok = out.open(str(tmp), spec) and out.write_image(data)
        ok = out.close() and ok
        if not ok:
            error = out.geterror()
            raise RuntimeFailure(disk_problem(path.parent) or f"writing {path} failed: {error}")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def disk_problem(folder: Path, needed: int = 1 << 20) -> str | None:
    """Why nothing more can be written in `folder` (a full disk, no free inodes), or None."""
    try:
        free = shutil.disk_usage(folder).free
        stats = os.statvfs(folder)
    except (OSError, AttributeError):
        return None
    if free < needed:
        return f"the disk holding {folder} is full ({free} bytes free); free space and resume"
    if stats.f_files and stats.f_favail == 0:
        return f"the disk holding {folder} has no free inodes; free some and resume"
    return None


def read_attributes(path: Path) -> dict[str, AttributeValue]:
    """Every `genvfx/` attribute of an EXR header, without the pixels."""
    import OpenImageIO as oiio

    inp = oiio.ImageInput.open(str(path))
    if inp is None:
        raise RuntimeFailure(f"cannot open {path}: {oiio.geterror()}")
    try:
        spec = inp.spec()
        found: dict[str, AttributeValue] = {}
        for attr in spec.extra_attribs:
            if attr.name.startswith(ATTRIBUTE_PREFIX):
                found[attr.name] = cast(AttributeValue, attr.value)
        return found
    finally:
        inp.close()


def read_pixels(path: Path) -> np.ndarray:
    """Every pixel of an EXR's first part as float32 (H, W, C); a truncated file fails."""
    import OpenImageIO as oiio

    inp = oiio.ImageInput.open(str(path))
    if inp is None:
        raise RuntimeFailure(f"cannot open {path}: {oiio.geterror()}")
    try:
        pixels = inp.read_image(oiio.FLOAT)
        if pixels is None:
            raise RuntimeFailure(f"cannot read the pixels of {path}: {inp.geterror()}")
        return np.asarray(pixels, dtype=np.float32)
    finally:
        inp.close()
