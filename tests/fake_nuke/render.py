"""What the fake `nuke.execute` writes: real EXR frames, as a Write node would.

The pixels are a ramp over the input's format (a Read's, or the gizmo input's), RGBA,
32-bit float; the data and display windows are the format, scaled by the Root's
`proxy_scale` when proxy mode is on; `%V` in the path is the view.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

import numpy as np
import OpenImageIO as oiio

from tests.fake_nuke import nuke

HASHES = re.compile(r"#+")


def source_format(write: nuke.Node) -> nuke.Format:
    """The format reaching a Write: up its inputs (an Input node leads to the enclosing
    gizmo's input) to the first Read."""
    node = write.input(0)
    while node is not None and node.Class() != "Read":
        if node.Class() == "Input":
            number = node.knob("number")
            index = int(number.value()) if number is not None and str(number.value()) else 0
            node = node.parent().input(index)
        else:
            node = node.input(0)
    return node.format() if node is not None else nuke.root().format()


def frame_path(pattern: str, frame: int, view: str) -> str:
    path = HASHES.sub(lambda m: f"{frame:0{len(m.group(0))}d}", pattern)
    path = re.sub(r"%0?(\d*)d", lambda m: f"{frame:0{int(m.group(1) or 1)}d}", path)
    return path.replace("%V", view)


def write_frames(write: nuke.Node, pattern: str, frames: Iterable[int], views: list[str]) -> None:
    fmt = source_format(write)
    scale = float(nuke.root()["proxy_scale"].value()) if nuke.root()["proxy"].value() else 1.0
    width, height = max(1, round(fmt.width() * scale)), max(1, round(fmt.height() * scale))
    ramp = np.linspace(0.0, 1.0, width, dtype=np.float32)
    for frame in frames:
        for view in views:
            pixels = np.zeros((height, width, 4), dtype=np.float32)
            pixels[..., 0] = ramp
            pixels[..., 1] = (frame % 10) / 10.0
            pixels[..., 2] = 0.25
            pixels[..., 3] = 1.0
            path = frame_path(pattern, frame, view)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            spec = oiio.ImageSpec(width, height, 4, oiio.FLOAT)
            spec.channelnames = ("R", "G", "B", "A")
            output = oiio.ImageOutput.create(path)
            if output is None or not output.open(path, spec):
                raise OSError(f"cannot write {path}: {oiio.geterror()}")
            output.write_image(pixels)
            output.close()
