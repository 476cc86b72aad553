"""The generation modes and every rule that depends on the mode, in one table.

Which pipeline class serves a mode is a property of the model family
(`models.catalogue`); everything else a mode decides lives here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Mode(str, enum.Enum):
    """What a take is generated from."""

    T2V = "t2v"
    I2V = "i2v"
    V2V = "v2v"
    INPAINT = "inpaint"

    def __str__(self) -> str:
        return self.value

    @property
    def rule(self) -> ModeRule:
        return RULES[self]

    @classmethod
    def values(cls) -> tuple[str, ...]:
        return tuple(m.value for m in cls)


class Matte(str, enum.Enum):
    """How a take's alpha is made (see `media.matte`)."""

    NONE = "none"
    BLACK = "black"
    GREEN = "green"
    BLUE = "blue"
    MASK = "mask"
    DIFFERENCE = "difference"
    MODEL = "model"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def values(cls) -> tuple[str, ...]:
        return tuple(m.value for m in cls)

    @property
    def keyed(self) -> bool:
        """Generated over a background the prompt asks for, then keyed off it."""
        return self in (Matte.BLACK, Matte.GREEN, Matte.BLUE)


BACKGROUND_PROMPTS: dict[Matte, str] = {
    Matte.BLACK: "isolated on a pure black background",
    Matte.GREEN: "isolated in front of a flat, evenly lit chroma-key green screen",
    Matte.BLUE: "isolated in front of a flat, evenly lit chroma-key blue screen",
}
"""What a keyed method appends to the prompt unless the job gives its own instruction."""


@dataclass(frozen=True)
class ModeRule:
    """What a mode needs and does.

    `plate_frames`: every generated frame is made from the plate frame at the same number
    (so strength applies and strength 0 keeps the plate); `start_frame`: the shot starts
    from one plate frame (`condition_frame`, default the first); `default_matte`: the
    take's matte without a mask (with one, the mask is the matte).
    """

    label: str
    needs_plate: bool
    needs_mask: bool
    plate_frames: bool
    start_frame: bool
    default_strength: float | None
    default_matte: Matte


RULES: dict[Mode, ModeRule] = {
    Mode.T2V: ModeRule(
        label="text to video",
        needs_plate=False,
        needs_mask=False,
        plate_frames=False,
        start_frame=False,
        default_strength=None,
        default_matte=Matte.BLACK,
    ),
    Mode.I2V: ModeRule(
        label="image to video",
        needs_plate=True,
        needs_mask=False,
        plate_frames=False,
        start_frame=True,
        default_strength=None,
        default_matte=Matte.BLACK,
    ),
    Mode.V2V: ModeRule(
        label="video to video",
        needs_plate=True,
        needs_mask=False,
        plate_frames=True,
        start_frame=False,
        default_strength=0.6,
        default_matte=Matte.NONE,
    ),
    Mode.INPAINT: ModeRule(
        label="inpaint",
        needs_plate=True,
        needs_mask=True,
        plate_frames=True,
        start_frame=False,
        default_strength=1.0,
        default_matte=Matte.MASK,
    ),
}
