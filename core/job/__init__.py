"""The job: every generation parameter in one validated value, and the modes it can run."""

from .decode import MAX_DEPTH, parse_json
from .fields import FieldSpec
from .job import (
    COMPRESSIONS,
    DTYPES,
    MAX_SEED,
    PATH_FIELDS,
    PIXEL_TYPES,
    SCHEMA,
    GenerationJob,
    field_specs,
)
from .modes import BACKGROUND_PROMPTS, Matte, Mode, ModeRule
from .values import MAX_FRAMES, MAX_SIDE, Format, FrameRange, Lora

__all__ = [
    "BACKGROUND_PROMPTS",
    "COMPRESSIONS",
    "DTYPES",
    "MAX_DEPTH",
    "MAX_FRAMES",
    "MAX_SEED",
    "MAX_SIDE",
    "PATH_FIELDS",
    "PIXEL_TYPES",
    "SCHEMA",
    "FieldSpec",
    "Format",
    "FrameRange",
    "GenerationJob",
    "Lora",
    "Matte",
    "Mode",
    "ModeRule",
    "field_specs",
    "parse_json",
]
