"""`GenerationJob`: the one value that carries every generation parameter.

The Nuke node, the CLI, the worker and a farm task all build this same value. It is
frozen, round-trips through JSON, and is validated field by field on load: an invalid
field raises `InvalidField` naming the field, the value and what is allowed.
Checks that need the model (legal sizes, supported modes) happen when the job is planned,
still before anything is written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidField

SCHEMA = 1
MODES = ("t2v", "i2v", "v2v", "inpaint")
COMPRESSIONS = ("zip", "piz", "dwaa", "none")
PIXEL_TYPES = ("half", "float")
DTYPES = ("float32", "bfloat16", "float16")
MAX_SEED = 2**31 - 1
MAX_FRAMES = 100_000
MAX_SIDE = 16384
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,99}$")
DEVICE_PATTERN = re.compile(r"^(cpu|mps|cuda(:\d+)?)$")


@dataclass(frozen=True, order=True)
class FrameRange:
    """An inclusive range of frame numbers, as Nuke counts them (1001-1100)."""

    first: int
    last: int

    def __len__(self) -> int:
        return self.last - self.first + 1

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.first, self.last + 1))

    def __str__(self) -> str:
        return f"{self.first}-{self.last}"

    @classmethod
    def parse(cls, text: str, field_name: str = "frames") -> FrameRange:
        """Parse `1001-1100`, `-5--1` or a single frame `1001`."""
        match = re.fullmatch(r"\s*(-?\d+)\s*(?:-\s*(-?\d+)\s*)?", text)
        if not match:
            raise InvalidField(field_name, text, "FIRST-LAST, e.g. 1001-1100")
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        return cls.checked(first, last, field_name)

    @classmethod
    def checked(cls, first: int, last: int, field_name: str = "frames") -> FrameRange:
        if last < first:
            raise InvalidField(field_name, f"{first}-{last}", "a last frame >= the first frame")
        if last - first + 1 > MAX_FRAMES:
            raise InvalidField(field_name, f"{first}-{last}", f"at most {MAX_FRAMES} frames")
        return cls(first, last)


@dataclass(frozen=True)
class Format:
    """An output image size in pixels (Nuke's format, square pixels)."""

    width: int
    height: int

    def __str__(self) -> str:
        return f"{self.width}x{self.height}"

    @property
    def aspect(self) -> float:
        return self.width / self.height

    @classmethod
    def parse(cls, text: str, field_name: str = "format") -> Format:
        match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
        if not match:
            raise InvalidField(field_name, text, "WIDTHxHEIGHT, e.g. 1920x1080")
        return cls.checked(int(match.group(1)), int(match.group(2)), field_name)

    @classmethod
    def checked(cls, width: int, height: int, field_name: str = "format") -> Format:
        for side in (width, height):
            if not 8 <= side <= MAX_SIDE:
                raise InvalidField(
                    field_name, f"{width}x{height}", f"each side from 8 to {MAX_SIDE} pixels"
                )
        return cls(width, height)


@dataclass(frozen=True)
class GenerationJob:
    """Every parameter of one generation. Build with `GenerationJob.from_dict` to validate."""

    prompt: str
    model: str
    frames: FrameRange
    output_root: str
    name: str
    seed: int = 0
    negative_prompt: str = ""
    mode: str = "t2v"
    family: str | None = None
    fps: float | None = None
    format: Format | None = None
    steps: int | None = None
    guidance: float | None = None
    strength: float | None = None
    plate: str | None = None
    plate_layer: str = "rgba"
    plate_space: str | None = None
    region: tuple[int, int, int, int] | None = None
    mask: str | None = None
    condition_frame: int | None = None
    model_size: Format | None = None
    window: int | None = None
    overlap: int | None = None
    margin: int | None = None
    feather: float | None = None
    compression: str = "zip"
    pixel_type: str = "half"
    working_space: str = "lin_rec709"
    model_space: str = "srgb_tx"
    ocio_config: str | None = None
    cpu_offload: bool = False
    vae_tiling: bool = False
    device: str | None = None
    dtype: str | None = None
    allow_network: bool = False

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GenerationJob:
        """Validate a mapping (parsed JSON, CLI flags, knob values) into a job."""
        if not isinstance(data, Mapping):
            raise InvalidField("job", type(data).__name__, "a JSON object")
        known = {f.name for f in dataclasses.fields(cls)} | {"schema"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidField(
                unknown[0], data[unknown[0]], f"one of the job fields {sorted(known)}"
            )
        schema = data.get("schema", SCHEMA)
        if schema != SCHEMA:
            raise InvalidField("schema", schema, f"{SCHEMA}")
        values: dict[str, Any] = {}
        for name, parse in _PARSERS.items():
            if name in data and data[name] is not None:
                values[name] = parse(name, data[name])
            elif name in _REQUIRED:
                raise InvalidField(name, None, _REQUIRED[name])
        job = cls(**values)
        job._check_combination()
        return job

    @classmethod
    def from_json(cls, text: str) -> GenerationJob:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidField(
                "job", text[:80], f"valid JSON ({exc.msg} at line {exc.lineno})"
            ) from None
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready mapping; `from_dict(to_dict())` gives an equal job."""
        out: dict[str, Any] = {"schema": SCHEMA}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, FrameRange):
                value = {"first": value.first, "last": value.last}
            elif isinstance(value, Format):
                value = {"width": value.width, "height": value.height}
            out[f.name] = value
        return out

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True, ensure_ascii=False)

    def job_hash(self) -> str:
        """A short stable hash of every parameter: two takes with the same hash are replays."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]

    def replace(self, **changes: Any) -> GenerationJob:
        """A validated copy with some fields changed."""
        data = self.to_dict()
        data.update(changes)
        return GenerationJob.from_dict(data)

    def _check_combination(self) -> None:
        needs_plate = self.mode in ("i2v", "v2v", "inpaint")
        if needs_plate and not self.plate:
            raise InvalidField("plate", self.plate, f"a plate image sequence for mode {self.mode}")
        if self.mode == "inpaint" and not self.mask:
            raise InvalidField("mask", self.mask, "a mask image sequence for mode inpaint")
        if self.mode == "t2v" and (self.plate or self.mask):
            field_name = "plate" if self.plate else "mask"
            raise InvalidField(field_name, getattr(self, field_name), "nothing for mode t2v")
        if self.region is not None and not self.plate:
            raise InvalidField("region", self.region, "nothing unless a plate is given")
        if self.plate_space is not None and not self.plate:
            raise InvalidField("plate_space", self.plate_space, "nothing unless a plate is given")
        if self.strength is not None and self.mode not in ("v2v", "inpaint"):
            raise InvalidField("strength", self.strength, "nothing unless mode is v2v or inpaint")
        if self.condition_frame is not None and self.mode != "i2v":
            raise InvalidField(
                "condition_frame", self.condition_frame, "nothing unless mode is i2v"
            )
        if self.window is not None and self.overlap is not None and self.overlap >= self.window:
            raise InvalidField("overlap", self.overlap, f"fewer frames than window ({self.window})")


def _text(allow_empty: bool) -> Callable[[str, Any], str]:
    def parse(name: str, value: Any) -> str:
        if not isinstance(value, str):
            raise InvalidField(name, value, "a string")
        if not allow_empty and not value.strip():
            raise InvalidField(name, value, "a non-empty string")
        if "\x00" in value:
            raise InvalidField(name, value, "text without NUL characters")
        return value

    return parse


def _choice(options: tuple[str, ...]) -> Callable[[str, Any], str]:
    def parse(name: str, value: Any) -> str:
        if value not in options:
            raise InvalidField(name, value, "one of " + ", ".join(options))
        return str(value)

    return parse


def _integer(low: int, high: int) -> Callable[[str, Any], int]:
    def parse(name: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidField(name, value, f"an integer from {low} to {high}")
        if not low <= value <= high:
            raise InvalidField(name, value, f"an integer from {low} to {high}")
        return value

    return parse


def _number(low: float, high: float, low_open: bool = False) -> Callable[[str, Any], float]:
    def parse(name: str, value: Any) -> float:
        bound = f"({low}" if low_open else f"[{low}"
        allowed = f"a number in {bound}, {high}]"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidField(name, value, allowed)
        number = float(value)
        too_low = number <= low if low_open else number < low
        if not math.isfinite(number) or too_low or number > high:
            raise InvalidField(name, value, allowed)
        return number

    return parse


def _boolean(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidField(name, value, "true or false")
    return value


def _frames(name: str, value: Any) -> FrameRange:
    if isinstance(value, str):
        return FrameRange.parse(value, name)
    if isinstance(value, Mapping) and set(value) == {"first", "last"}:
        first = _integer(-(10**7), 10**7)(f"{name}.first", value["first"])
        last = _integer(-(10**7), 10**7)(f"{name}.last", value["last"])
        return FrameRange.checked(first, last, name)
    raise InvalidField(name, value, 'FIRST-LAST or {"first": N, "last": M}')


def _format(name: str, value: Any) -> Format:
    if isinstance(value, str):
        return Format.parse(value, name)
    if isinstance(value, Mapping) and set(value) == {"width", "height"}:
        width = _integer(8, MAX_SIDE)(f"{name}.width", value["width"])
        height = _integer(8, MAX_SIDE)(f"{name}.height", value["height"])
        return Format.checked(width, height, name)
    raise InvalidField(name, value, 'WIDTHxHEIGHT or {"width": W, "height": H}')


def _region(name: str, value: Any) -> tuple[int, int, int, int]:
    """A box of plate pixels: X,Y,WIDTH,HEIGHT from the display window's top-left, y down."""
    allowed = "X,Y,WIDTH,HEIGHT in plate pixels (x, y >= 0; width, height >= 1)"
    if isinstance(value, str):
        parts: Any = value.replace(" ", "").split(",")
        try:
            parts = [int(p) for p in parts]
        except ValueError:
            raise InvalidField(name, value, allowed) from None
    elif isinstance(value, (list, tuple)):
        parts = list(value)
    else:
        raise InvalidField(name, value, allowed)
    if len(parts) != 4 or any(isinstance(p, bool) or not isinstance(p, int) for p in parts):
        raise InvalidField(name, value, allowed)
    x, y, width, height = parts
    if x < 0 or y < 0 or width < 1 or height < 1:
        raise InvalidField(name, value, allowed)
    return (x, y, width, height)


def _name(name: str, value: Any) -> str:
    if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value):
        raise InvalidField(
            name, value, "1-100 letters, digits, '_' or '-', starting with a letter or digit"
        )
    return value


def _device(name: str, value: Any) -> str:
    if not isinstance(value, str) or not DEVICE_PATTERN.fullmatch(value):
        raise InvalidField(name, value, "cpu, cuda, cuda:N or mps")
    return value


_PARSERS: dict[str, Callable[[str, Any], Any]] = {
    "prompt": _text(allow_empty=False),
    "model": _text(allow_empty=False),
    "frames": _frames,
    "output_root": _text(allow_empty=False),
    "name": _name,
    "seed": _integer(0, MAX_SEED),
    "negative_prompt": _text(allow_empty=True),
    "mode": _choice(MODES),
    "family": _text(allow_empty=False),
    "fps": _number(0.0, 1000.0, low_open=True),
    "format": _format,
    "steps": _integer(1, 1000),
    "guidance": _number(0.0, 100.0),
    "strength": _number(0.0, 1.0),
    "plate": _text(allow_empty=False),
    "plate_layer": _text(allow_empty=False),
    "plate_space": _text(allow_empty=False),
    "region": _region,
    "mask": _text(allow_empty=False),
    "condition_frame": _integer(-(10**7), 10**7),
    "model_size": _format,
    "window": _integer(1, MAX_FRAMES),
    "overlap": _integer(0, MAX_FRAMES),
    "margin": _integer(0, MAX_SIDE),
    "feather": _number(0.0, float(MAX_SIDE)),
    "compression": _choice(COMPRESSIONS),
    "pixel_type": _choice(PIXEL_TYPES),
    "working_space": _text(allow_empty=False),
    "model_space": _text(allow_empty=False),
    "ocio_config": _text(allow_empty=False),
    "cpu_offload": _boolean,
    "vae_tiling": _boolean,
    "device": _device,
    "dtype": _choice(DTYPES),
    "allow_network": _boolean,
}

_REQUIRED = {
    "prompt": "a non-empty string",
    "model": "a model folder, a model name from GENVFX_MODELS, or builtin:tiny-ltx",
    "frames": "FIRST-LAST, e.g. 1001-1100",
    "output_root": "a folder to write takes under",
    "name": "a take name (letters, digits, '_' or '-')",
}
