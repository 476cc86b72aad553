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


@dataclass(frozen=True)
class ModeRule:
    """What a mode needs and does.

    `plate_frames`: every generated frame is made from the plate frame at the same number
    (so strength applies and strength 0 keeps the plate); `start_frame`: the shot starts
    from one plate frame (`condition_frame`, default the first); `mask_is_alpha`: the
    take's alpha follows the mask rather than the region's box.
    """

    label: str
    needs_plate: bool
    needs_mask: bool
    plate_frames: bool
    start_frame: bool
    mask_is_alpha: bool
    default_strength: float | None


RULES: dict[Mode, ModeRule] = {
    Mode.T2V: ModeRule(
        label="text to video",
        needs_plate=False,
        needs_mask=False,
        plate_frames=False,
        start_frame=False,
        mask_is_alpha=False,
        default_strength=None,
    ),
    Mode.I2V: ModeRule(
        label="image to video",
        needs_plate=True,
        needs_mask=False,
        plate_frames=False,
        start_frame=True,
        mask_is_alpha=False,
        default_strength=None,
    ),
    Mode.V2V: ModeRule(
        label="video to video",
        needs_plate=True,
        needs_mask=False,
        plate_frames=True,
        start_frame=False,
        mask_is_alpha=False,
        default_strength=0.6,
    ),
    Mode.INPAINT: ModeRule(
        label="inpaint",
        needs_plate=True,
        needs_mask=True,
        plate_frames=True,
        start_frame=False,
        mask_is_alpha=True,
        default_strength=1.0,
    ),
}
