"""The value types a job is made of: a frame range, an image size, a LoRA and its weight."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import InvalidField

MAX_FRAMES = 100_000
MAX_SIDE = 16384
MAX_FRAME_NUMBER = 10**7


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

    def __contains__(self, frame: object) -> bool:
        return isinstance(frame, int) and self.first <= frame <= self.last

    @classmethod
    def parse(cls, text: str, field_name: str = "frames") -> FrameRange:
        """Parse `1001-1100`, `-5--1` or a single frame `1001`."""
        match = re.fullmatch(r"\s*(-?\d{1,9})\s*(?:-\s*(-?\d{1,9})\s*)?", text)
        if not match:
            raise InvalidField(field_name, text, "FIRST-LAST, e.g. 1001-1100")
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        return cls.checked(first, last, field_name)

    @classmethod
    def checked(cls, first: int, last: int, field_name: str = "frames") -> FrameRange:
        for number in (first, last):
            if abs(number) > MAX_FRAME_NUMBER:
                raise InvalidField(
                    field_name, f"{first}-{last}", f"frame numbers within ±{MAX_FRAME_NUMBER}"
                )
        if last < first:
            raise InvalidField(field_name, f"{first}-{last}", "a last frame >= the first frame")
        if last - first + 1 > MAX_FRAMES:
            raise InvalidField(field_name, f"{first}-{last}", f"at most {MAX_FRAMES} frames")
        return cls(first, last)


@dataclass(frozen=True)
class Format:
    """An image size in pixels (Nuke's format, square pixels)."""

    width: int
    height: int

    def __str__(self) -> str:
        return f"{self.width}x{self.height}"

    @property
    def aspect(self) -> float:
        return self.width / self.height

    @classmethod
    def parse(cls, text: str, field_name: str = "format") -> Format:
        match = re.fullmatch(r"\s*(\d{1,6})\s*[xX]\s*(\d{1,6})\s*", text)
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


MAX_LORA_WEIGHT = 10.0


@dataclass(frozen=True)
class Lora:
    """A LoRA file (safetensors) applied to the model's transformer with `weight`."""

    path: str
    weight: float = 1.0

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "weight": self.weight}

    def __str__(self) -> str:
        return f"{self.path}:{self.weight:g}"
