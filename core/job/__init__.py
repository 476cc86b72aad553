"""The job: every generation parameter in one validated value, and the modes it can run."""

from .decode import MAX_DEPTH, parse_json
from .fields import FieldSpec
from .job import COMPRESSIONS, DTYPES, MAX_SEED, PIXEL_TYPES, SCHEMA, GenerationJob, field_specs
from .modes import Mode, ModeRule
from .values import MAX_FRAMES, MAX_SIDE, Format, FrameRange

__all__ = [
    "COMPRESSIONS",
    "DTYPES",
    "MAX_DEPTH",
    "MAX_FRAMES",
    "MAX_SEED",
    "MAX_SIDE",
    "PIXEL_TYPES",
    "SCHEMA",
    "FieldSpec",
    "Format",
    "FrameRange",
    "GenerationJob",
    "Mode",
    "ModeRule",
    "field_specs",
    "parse_json",
]
