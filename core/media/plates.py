"""Reading plate and mask image sequences with OpenImageIO, one frame at a time.

Every frame comes back laid out in the plate's DISPLAY window (Nuke's format): pixels are
placed by the data window's origin within the display window, overscan outside the display
window is cropped, and display-window areas the data window does not cover are 0.

Decisions a caller can rely on:
- Pixel aspect is reported (`PlateInfo.pixel_aspect`), never resampled: the take keeps the
  plate's pixel grid, so an anamorphic plate gives an anamorphic take of the same format.
- A colour layer is one whose channels include R, G and B (`R`/`red`, any case) after the
  layer name; the layer name is everything before the LAST dot (`Warstwa 1.R` is layer
  `Warstwa 1`). `rgba` (or `rgb`, or empty) names the unprefixed channels.
- Frames always have 4 channels, R G B A. A layer without alpha is opaque: A = 1 inside the
  data window (and 0, like RGB, where the display window has no data).
- Multipart files: `layer` may name a part (`beauty`: its rgba, or its only colour layer),
  a layer in a part (`beauty.diffuse`), or just a layer, which is looked up in the parts in
  order, so `rgba` reads the first part that has R, G and B.
- Tiled and mipmapped files are read at their top (full-resolution) level.
- NaN and Inf values become 0; how many is reported through the `warn` callback (or the
  `genvfx.plates` logger when there is none).
- Deep files, luminance-only files (Y/RY/BY without RGB), files with no colour layer, damaged
  or truncated files and files whose declared size is beyond sane limits are refused with
  `InvalidField(field, path, reason)` before any large allocation.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidField
from ..job import MAX_SIDE, Format, FrameRange

LOG = logging.getLogger("genvfx.plates")

MAX_DATA_SIDE = 4 * MAX_SIDE
MAX_READ_BYTES = 2 * 1024**3
MIN_PIXEL_ASPECT = 0.05
RGBA_LAYER_NAMES = ("rgba", "rgb", "")
EXR_MAGIC = b"\x76\x2f\x31\x01"

Warn = Callable[[str], None]

_HASHES = re.compile(r"#+")
_PRINTF = re.compile(r"%(0?)(\d*)d")
_SUFFIX = {
    "r": "R",
    "red": "R",
    "g": "G",
    "green": "G",
    "b": "B",
    "blue": "B",
    "a": "A",
    "alpha": "A",
    "y": "Y",
    "ry": "RY",
    "by": "BY",
}


# --- frame patterns ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Pattern:
    prefix: str
    suffix: str
    width: int
    has_frame: bool


def _parse_pattern(pattern: str, field: str = "plate") -> _Pattern:
    hashes = list(_HASHES.finditer(pattern))
    printf = list(_PRINTF.finditer(pattern))
    found = hashes + printf
    if len(found) > 1:
        raise InvalidField(
            field, pattern, "a path with one frame number placeholder (#### or %04d)"
        )
    if not found:
        return _Pattern(pattern, "", 0, False)
    match = found[0]
    width = len(match.group(0)) if match in hashes else int(match.group(2) or 0)
    return _Pattern(pattern[: match.start()], pattern[match.end() :], width, True)


def frame_path(pattern: str, frame: int) -> str:
    """The file of one frame: `shot.####.exr` or `shot.%04d.exr` -> `shot.1001.exr`.

    A path with no placeholder names one still image used for every frame.
    """
    parsed = _parse_pattern(pattern)
    if not parsed.has_frame:
        return pattern
    return f"{parsed.prefix}{frame:0{parsed.width}d}{parsed.suffix}"


def missing_frames(pattern: str, frames: Iterable[int]) -> list[int]:
    """The frames of `frames` whose file does not exist."""
    return [frame for frame in frames if not os.path.isfile(frame_path(pattern, frame))]


def frames_on_disk(pattern: str, field: str = "plate") -> list[int]:
    """Every frame number the pattern finds on disk, sorted (padding must match exactly)."""
    parsed = _parse_pattern(pattern, field)
    if not parsed.has_frame:
        return []
    folder = os.path.dirname(parsed.prefix) or "."
    head = os.path.basename(parsed.prefix)
    if os.sep in parsed.suffix or (os.altsep and os.altsep in parsed.suffix):
        raise InvalidField(field, pattern, "a frame number placeholder in the file name")
    number = re.compile(re.escape(head) + r"(-?\d+)" + re.escape(parsed.suffix) + r"\Z")
    found = []
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    for name in names:
        match = number.match(name)
        if match and f"{int(match.group(1)):0{parsed.width}d}" == match.group(1):
            found.append(int(match.group(1)))
    return sorted(found)


def frame_range_on_disk(pattern: str, field: str = "plate") -> FrameRange:
    """First to last frame found on disk (gaps inside are reported when the range is read)."""
    found = frames_on_disk(pattern, field)
    if not found:
        raise InvalidField(field, pattern, "a path pattern matching existing frames")
    return FrameRange.checked(found[0], found[-1], field)


def compact_ranges(frames: Sequence[int]) -> str:
    """`[1003, 1010, 1011, 1012]` -> `1003, 1010-1012`."""
    parts: list[str] = []
    ordered = sorted(set(frames))
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ", ".join(parts)


def require_frames(pattern: str, frames: Iterable[int], field: str = "plate") -> None:
    """Raise `InvalidField` listing every missing frame (as compact ranges)."""
    missing = missing_frames(pattern, frames)
    if missing:
        raise InvalidField(
            field,
            pattern,
            f"every frame on disk; missing {len(missing)} frame(s): {compact_ranges(missing)}",
        )


# --- headers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """A pixel rectangle in a file's absolute coordinates (x right, y down, as in EXR)."""

    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class PlateInfo:
    """What the first frame of a plate says about the whole sequence (the chosen part)."""

    path: str
    format: Format
    display_origin: tuple[int, int]
    data_window: Window
    pixel_aspect: float
    channels: tuple[str, ...]
    part: int
    parts: tuple[str, ...]
    layer: str
    layers: tuple[str, ...]
    has_alpha: bool
    tiled: bool
    mip_levels: int
    file_format: str
    compression: str

    @property
    def display_window(self) -> Window:
        return Window(*self.display_origin, self.format.width, self.format.height)


@dataclass(frozen=True)
class _Part:
    index: int
    name: str
    spec: Any
    mip_levels: int
    channels: tuple[str, ...]


@dataclass(frozen=True)
class _Choice:
    part: _Part
    layer: str
    channels: tuple[str, ...]


def _split(channel: str) -> tuple[str, str]:
    layer, dot, suffix = channel.rpartition(".")
    return (layer, suffix) if dot else ("", channel)


def _layer_channels(channels: Sequence[str]) -> dict[str, dict[str, str]]:
    """layer -> {canonical suffix (R/G/B/A/Y/RY/BY) -> channel name}, in file order."""
    layers: dict[str, dict[str, str]] = {}
    for name in channels:
        layer, suffix = _split(name)
        canonical = _SUFFIX.get(suffix.lower())
        if canonical is not None:
            layers.setdefault(layer, {}).setdefault(canonical, name)
    return layers


def _colour_layers(channels: Sequence[str]) -> list[str]:
    return [
        layer or "rgba"
        for layer, found in _layer_channels(channels).items()
        if {"R", "G", "B"} <= found.keys()
    ]


def _refuse(field: str, path: str, reason: str) -> InvalidField:
    return InvalidField(field, path, reason)


def _error_text(source: Any) -> str:
    """OpenImageIO's pending error message (its module's or a reader's), on one short line."""
    try:
        text = str(source.geterror())
    except UnicodeDecodeError:
        return "(the reader's message is not valid UTF-8)"
    return " ".join(text.split())[:300]


@contextmanager
def _garbled_header(field: str, path: str) -> Iterator[None]:
    """A header whose names are not valid UTF-8 is a damaged file, not a crash."""
    try:
        yield
    except UnicodeDecodeError:
        raise _refuse(
            field, path, "a readable image; this file is damaged (its header holds garbled text)"
        ) from None


def _open(path: str, field: str) -> Any:
    import OpenImageIO as oiio

    if not os.path.isfile(path):
        raise _refuse(field, path, "an existing image file")
    inp = oiio.ImageInput.open(path)
    if inp is None:
        detail = _error_text(oiio)
        try:
            with open(path, "rb") as handle:
                is_exr = handle.read(4) == EXR_MAGIC
        except OSError:
            is_exr = False
        what = (
            "this OpenEXR file is damaged or truncated (its header cannot be read)"
            if is_exr
            else "this file is not an image OpenImageIO can read"
        )
        raise _refuse(field, path, f"a readable image; {what}: {detail}")
    return inp


def _clean(text: str) -> str:
    """A header name as printable text (undecodable bytes become U+FFFD, never a crash later)."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _parts(inp: Any) -> list[_Part]:
    parts = []
    index = 0
    while inp.seek_subimage(index, 0):
        spec = inp.spec()
        levels = 1
        while levels < 64 and inp.seek_subimage(index, levels):
            levels += 1
        name = spec.get_string_attribute("oiio:subimagename") or spec.get_string_attribute("name")
        channels = tuple(_clean(c) for c in spec.channelnames)
        parts.append(_Part(index, _clean(name), spec, levels, channels))
        index += 1
        if index > 4096:
            break
    return parts


def _describe_channels(part: _Part) -> str:
    names = ", ".join(part.channels) or "none"
    label = f"part {part.name!r}" if part.name else f"part {part.index}"
    return f"{label} has channels {names}"


def _choose(parts: list[_Part], layer: str, field: str, path: str) -> _Choice:
    """Find the part and channels `layer` names (see the module docstring for the rules)."""
    wanted = layer.strip()
    candidates: list[tuple[_Part, str]] = []
    by_name = {p.name: p for p in parts if p.name}
    if wanted in by_name:
        named = by_name[wanted]
        candidates.append((named, "rgba"))
        candidates.append((named, wanted))
        only = _colour_layers(named.channels)
        if len(only) == 1:
            candidates.append((named, only[0]))
    for name, part in by_name.items():
        if wanted.startswith(name + "."):
            candidates.append((part, wanted[len(name) + 1 :]))
    candidates.extend((part, wanted) for part in parts)

    for part, name in candidates:
        if part.spec.deep:
            continue
        layers = _layer_channels(part.channels)
        key = "" if name.lower() in RGBA_LAYER_NAMES else name
        found = layers.get(key)
        if found is None and key:
            found = next((v for k, v in layers.items() if k.lower() == key.lower()), None)
        if found is None or not {"R", "G", "B"} <= found.keys():
            continue
        picked = tuple(found[c] for c in ("R", "G", "B", "A") if c in found)
        return _Choice(part, key or "rgba", picked)

    if all(p.spec.deep for p in parts):
        raise _refuse(field, path, "a flat image; deep EXR files cannot be used as plates")
    described = "; ".join(_describe_channels(p) for p in parts)
    accepted = sorted(
        {
            f"{p.name}.{n}" if p.name and len(parts) > 1 else n
            for p in parts
            if not p.spec.deep
            for n in _colour_layers(p.channels)
        }
    )
    luminance = any(
        "Y" in found and not {"R", "G", "B"} <= found.keys()
        for p in parts
        for found in _layer_channels(p.channels).values()
    )
    if luminance and not accepted:
        reason = (
            "an RGB image; luminance-only (Y/RY/BY) images are not read as plates "
            f"({described}); convert it to RGB"
        )
    else:
        layers_text = ", ".join(accepted) if accepted else "none (no layer has R, G and B)"
        reason = (
            f"a layer with R, G and B channels; {described}; layers it would accept: {layers_text}"
        )
    raise _refuse(field, path, f"{reason} (asked for layer {layer!r})")


def _check_sizes(spec: Any, nchannels: int, field: str, path: str) -> None:
    if spec.deep:
        raise _refuse(field, path, "a flat image; deep EXR files cannot be used as plates")
    aspect = spec.get_float_attribute("PixelAspectRatio", 1.0)
    if not (MIN_PIXEL_ASPECT <= aspect <= 1 / MIN_PIXEL_ASPECT):
        raise _refuse(
            field,
            path,
            f"a pixel aspect ratio from {MIN_PIXEL_ASPECT} to {1 / MIN_PIXEL_ASPECT:g} "
            f"(this file declares {aspect})",
        )
    if not (0 < spec.full_width <= MAX_SIDE and 0 < spec.full_height <= MAX_SIDE):
        raise _refuse(
            field,
            path,
            f"a display window of 1 to {MAX_SIDE} pixels a side "
            f"(this file declares {spec.full_width}x{spec.full_height})",
        )
    if not (0 < spec.width <= MAX_DATA_SIDE and 0 < spec.height <= MAX_DATA_SIDE):
        raise _refuse(
            field,
            path,
            f"a data window of 1 to {MAX_DATA_SIDE} pixels a side "
            f"(this file declares {spec.width}x{spec.height})",
        )
    if spec.depth > 1:
        raise _refuse(field, path, "a 2D image (this file is a volume)")
    needed = spec.width * spec.height * nchannels * 4
    if needed > MAX_READ_BYTES:
        raise _refuse(
            field,
            path,
            f"at most {MAX_READ_BYTES // 1024**2} MiB of pixels per frame "
            f"(this file declares a {spec.width}x{spec.height} data window)",
        )


def _info(path: str, inp: Any, choice: _Choice, parts: list[_Part]) -> PlateInfo:
    spec = choice.part.spec
    pixel_aspect = spec.get_float_attribute("PixelAspectRatio", 1.0)
    return PlateInfo(
        path=path,
        format=Format(spec.full_width, spec.full_height),
        display_origin=(spec.full_x, spec.full_y),
        data_window=Window(spec.x, spec.y, spec.width, spec.height),
        pixel_aspect=float(pixel_aspect),
        channels=choice.part.channels,
        part=choice.part.index,
        parts=tuple(p.name for p in parts),
        layer=choice.layer,
        layers=tuple(_colour_layers(choice.part.channels)),
        has_alpha=len(choice.channels) == 4,
        tiled=spec.tile_width > 0,
        mip_levels=choice.part.mip_levels,
        file_format=str(inp.format_name()),
        compression=spec.get_string_attribute("compression"),
    )


def read_info(path: str | Path, layer: str = "rgba", field: str = "plate") -> PlateInfo:
    """The header facts of one plate frame for `layer` (no pixels are read)."""
    path = str(path)
    inp = _open(path, field)
    try:
        with _garbled_header(field, path):
            parts = _parts(inp)
        choice = _choose(parts, layer, field, path)
        _check_sizes(choice.part.spec, len(choice.channels), field, path)
        return _info(path, inp, choice, parts)
    finally:
        inp.close()


# --- pixels -----------------------------------------------------------------------------


def _read_channels(
    inp: Any, part: _Part, channels: Sequence[str], field: str, path: str
) -> np.ndarray:
    """(h, w, len(channels)) float32 of the part's data window, top MIP level."""
    import OpenImageIO as oiio

    names = list(part.channels)
    indices = [names.index(c) for c in channels]
    begin, end = min(indices), max(indices) + 1
    _check_sizes(part.spec, end - begin, field, path)
    pixels = inp.read_image(part.index, 0, begin, end, oiio.FLOAT)
    if pixels is None:
        detail = _error_text(inp)
        raise _refuse(field, path, f"a complete image; reading its pixels failed: {detail}")
    pixels = np.asarray(pixels, dtype=np.float32)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    if pixels.shape[:2] != (part.spec.height, part.spec.width):
        pixels = pixels.reshape(part.spec.height, part.spec.width, end - begin)
    return pixels[:, :, [i - begin for i in indices]]


def _place(data: np.ndarray, spec: Any, channels: int) -> np.ndarray:
    """Lay a data-window image into the display window (crop overscan, zero elsewhere)."""
    out = np.zeros((spec.full_height, spec.full_width, channels), dtype=np.float32)
    x0 = max(spec.x, spec.full_x)
    y0 = max(spec.y, spec.full_y)
    x1 = min(spec.x + spec.width, spec.full_x + spec.full_width)
    y1 = min(spec.y + spec.height, spec.full_y + spec.full_height)
    if x1 > x0 and y1 > y0:
        out[y0 - spec.full_y : y1 - spec.full_y, x0 - spec.full_x : x1 - spec.full_x, :] = data[
            y0 - spec.y : y1 - spec.y, x0 - spec.x : x1 - spec.x, :
        ]
    return out


def _finite(image: np.ndarray, field: str, path: str, warn: Warn | None) -> np.ndarray:
    bad = ~np.isfinite(image)
    count = int(np.count_nonzero(bad))
    if count:
        image[bad] = 0.0
        message = f"{field}: {count} NaN/Inf value(s) in {path} were set to 0"
        if warn is not None:
            warn(message)
        else:
            LOG.warning(message)
    return image


def read_frame(
    path: str | Path, layer: str = "rgba", field: str = "plate", warn: Warn | None = None
) -> np.ndarray:
    """One frame as (H, W, 4) float32 RGBA in the display window (see module docstring)."""
    path = str(path)
    inp = _open(path, field)
    try:
        with _garbled_header(field, path):
            parts = _parts(inp)
        choice = _choose(parts, layer, field, path)
        data = _read_channels(inp, choice.part, choice.channels, field, path)
    finally:
        inp.close()
    if data.shape[2] == 3:
        data = np.concatenate([data, np.ones_like(data[:, :, :1])], axis=2)
    data = _finite(data, field, path, warn)
    return _place(data, choice.part.spec, 4)


def _choose_mask(parts: list[_Part], layer: str, field: str, path: str) -> tuple[_Part, str]:
    key = "" if layer.strip().lower() in RGBA_LAYER_NAMES else layer.strip()
    for part in parts:
        if part.spec.deep:
            continue
        found = _layer_channels(part.channels).get(key)
        if found is None:
            continue
        for canonical in ("A", "R", "Y"):
            if canonical in found:
                return part, found[canonical]
    if all(p.spec.deep for p in parts):
        raise _refuse(field, path, "a flat image; deep EXR files cannot be used as masks")
    described = "; ".join(_describe_channels(p) for p in parts)
    raise _refuse(field, path, f"a mask with an A, R or Y channel in layer {layer!r}; {described}")


def read_mask_info(path: str | Path, layer: str = "rgba", field: str = "mask") -> PlateInfo:
    """Header facts of one mask frame (the part holding the mask channel)."""
    path = str(path)
    inp = _open(path, field)
    try:
        with _garbled_header(field, path):
            parts = _parts(inp)
        part, channel = _choose_mask(parts, layer, field, path)
        _check_sizes(part.spec, 1, field, path)
        choice = _Choice(part, layer or "rgba", (channel,))
        info = _info(path, inp, choice, parts)
        return info
    finally:
        inp.close()


def read_mask(
    path: str | Path, layer: str = "rgba", field: str = "mask", warn: Warn | None = None
) -> np.ndarray:
    """One mask frame as (H, W) float32 in [0, 1] in the display window.

    The mask is the layer's alpha when it has one, else its R, else its Y channel.
    """
    path = str(path)
    inp = _open(path, field)
    try:
        with _garbled_header(field, path):
            parts = _parts(inp)
        part, channel = _choose_mask(parts, layer, field, path)
        data = _read_channels(inp, part, (channel,), field, path)
    finally:
        inp.close()
    data = _finite(data, field, path, warn)
    np.clip(data, 0.0, 1.0, out=data)
    return _place(data, part.spec, 1)[:, :, 0]


# --- sequences --------------------------------------------------------------------------


class PlateSequence:
    """A plate (or mask) image sequence over a frame range, read lazily one frame at a time.

    Opening checks that every frame exists (listing the missing ones) and reads the first
    frame's header; each later frame must have the same display window.
    """

    def __init__(
        self,
        pattern: str,
        frames: FrameRange,
        layer: str = "rgba",
        field: str = "plate",
        is_mask: bool = False,
        warn: Warn | None = None,
    ) -> None:
        _parse_pattern(pattern, field)
        require_frames(pattern, frames, field)
        self.pattern = pattern
        self.frames = frames
        self.layer = layer
        self.field = field
        self.is_mask = is_mask
        self.warn = warn
        first = frame_path(pattern, frames.first)
        self.info = (
            read_mask_info(first, layer, field) if is_mask else read_info(first, layer, field)
        )

    def path(self, frame: int) -> str:
        return frame_path(self.pattern, frame)

    def read(self, frame: int) -> np.ndarray:
        """(H, W, 4) RGBA for a plate, (H, W) for a mask, in the display window."""
        if frame not in range(self.frames.first, self.frames.last + 1):
            raise InvalidField(self.field, frame, f"a frame in {self.frames}")
        path = self.path(frame)
        if self.is_mask:
            image = read_mask(path, self.layer, self.field, self.warn)
        else:
            image = read_frame(path, self.layer, self.field, self.warn)
        if image.shape[:2] != (self.info.format.height, self.info.format.width):
            raise InvalidField(
                self.field,
                path,
                f"the same format as the first frame ({self.info.format}), "
                f"not {image.shape[1]}x{image.shape[0]}",
            )
        return image

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        for frame in self.frames:
            yield frame, self.read(frame)

    def __len__(self) -> int:
        return len(self.frames)


def open_plate(
    pattern: str, frames: FrameRange, layer: str = "rgba", warn: Warn | None = None
) -> PlateSequence:
    return PlateSequence(pattern, frames, layer, "plate", is_mask=False, warn=warn)


def open_mask(
    pattern: str, frames: FrameRange, layer: str = "rgba", warn: Warn | None = None
) -> PlateSequence:
    return PlateSequence(pattern, frames, layer, "mask", is_mask=True, warn=warn)


def require_same_format(plate: PlateInfo, other: PlateInfo, field: str = "mask") -> None:
    """A mask must share the plate's display window (format and origin)."""
    if plate.display_window != other.display_window:
        raise InvalidField(
            field,
            other.path,
            f"the plate's display window {plate.format} at {plate.display_origin}, "
            f"not {other.format} at {other.display_origin}",
        )
