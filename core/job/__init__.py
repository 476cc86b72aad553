"""The job: every generation parameter in one validated value, and the modes it can run."""

from .fields import FieldSpec
from .job import COMPRESSIONS, DTYPES, MAX_SEED, PIXEL_TYPES, SCHEMA, GenerationJob, field_specs
from .modes import Mode, ModeRule
from .values import MAX_FRAMES, MAX_SIDE, Format, FrameRange, Lora

__all__ = [
    "COMPRESSIONS",
    "DTYPES",
    "MAX_FRAMES",
    "MAX_SEED",
    "MAX_SIDE",
    "PIXEL_TYPES",
    "SCHEMA",
    "FieldSpec",
    "Format",
    "FrameRange",
    "GenerationJob",
    "Lora",
    "Mode",
    "ModeRule",
    "field_specs",
]
