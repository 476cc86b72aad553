"""From the node's knob values to a job (a JSON-ready dict), refusing bad input clearly.

Pure functions, no `nuke`: the node gathers the values and the context, this module decides.
The worker validates the job again (core's GenerationJob); this layer exists so that a
compositor hears about a typo before anything is rendered or started.
"""

import os
import re
from typing import Any, Dict, Mapping, NamedTuple, Optional, Tuple

MODES = ("t2v", "i2v", "v2v", "inpaint")
NEEDS_PLATE = ("i2v", "v2v", "inpaint")
MATTES = ("auto", "none", "black", "green", "blue", "mask", "difference", "model")
"""The matte pulldown; `auto` leaves the job's matte to the engine's default for the mode."""
MAX_SEED = 2**31 - 1
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,99}$")
DEFAULT_FOLDER = "genvfx"
OPTIONAL_INTEGERS = {
    "window": (1, 100000),
    "overlap": (0, 100000),
    "condition_frame": (-(10**7), 10**7),
}
"""Text knobs holding a whole number; empty means the engine's default."""
REGION = re.compile(r"\s*\d+\s*,\s*\d+\s*,\s*\d+\s*,\s*\d+\s*")
MEMORY_LEVERS = ("cpu_offload", "vae_tiling")
DRAFT_MAX_PIXELS = 416 * 240
"""The most pixels a draft generates at: half each side of the 832x480 the stock video
models generate at by default."""


class SettingsError(ValueError):
    """A knob holds a value that cannot be used; `knob` names it."""

    def __init__(self, knob: str, message: str) -> None:
        super().__init__("{}: {}".format(knob, message))
        self.knob = knob


class Context(NamedTuple):
    """What the node knows besides its knobs: its name, inputs and the script."""

    name: str
    script_path: str
    plate_range: Optional[Tuple[int, int]]
    plate_format: Optional[Tuple[int, int]]
    root_range: Tuple[int, int]
    root_format: Tuple[int, int]
    has_mask: bool


def parse_frames(text: str, context: Context) -> Tuple[int, int]:
    """`1001-1100`, a single frame, or empty for the plate's range (the script's if no plate)."""
    text = text.strip()
    if not text:
        return context.plate_range or context.root_range
    match = re.fullmatch(r"(-?\d+)(?:\s*-\s*(-?\d+))?", text)
    if not match:
        raise SettingsError(
            "frames", "{!r} is not a range; use FIRST-LAST, e.g. 1001-1100".format(text)
        )
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) is not None else first
    if last < first:
        raise SettingsError(
            "frames", "the last frame {} is before the first {}".format(last, first)
        )
    return first, last


def output_root(text: str, context: Context) -> str:
    """The knob's folder, else a `genvfx` folder next to the saved script."""
    text = os.path.expandvars(os.path.expanduser(text.strip()))
    if not text:
        if not context.script_path:
            raise SettingsError(
                "output_root", "save the script first, or choose an output folder for the takes"
            )
        return os.path.join(os.path.dirname(os.path.abspath(context.script_path)), DEFAULT_FOLDER)
    if not os.path.isabs(text):
        if not context.script_path:
            raise SettingsError(
                "output_root", "{!r} is relative and the script is not saved".format(text)
            )
        return os.path.normpath(os.path.join(os.path.dirname(context.script_path), text))
    return os.path.normpath(text)


def knob_path(path: str, evaluated: bool = False) -> str:
    """`path` as a Nuke file knob should hold it.

    Forward slashes on every OS (Nuke reads them on Windows too; a backslash is TCL's escape
    character, so `C:\\shots` would be read as `C:shots`). For a knob Nuke evaluates as TCL
    (`evaluated`), `[`, `]` and `$` are escaped so a folder name can never run a command.
    """
    text = path.replace("\\", "/")
    if evaluated:
        text = re.sub(r"([\[\]$])", r"\\\1", text)
    return text


def _integer(knob: str, value: Any, low: int, high: int) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SettingsError(knob, "{!r} is not a number".format(value)) from None
    if number != int(number) or not low <= number <= high:
        raise SettingsError(
            knob, "{!r} is not a whole number from {} to {}".format(value, low, high)
        )
    return int(number)


def _number(knob: str, value: Any, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SettingsError(knob, "{!r} is not a number".format(value)) from None
    if not low <= number <= high:
        raise SettingsError(knob, "{} is outside {} to {}".format(number, low, high))
    return number


def build_job(values: Mapping[str, Any], context: Context) -> Dict[str, Any]:
    """The job for these knob values, or `SettingsError` naming the first bad knob.

    `steps` and `guidance` at 0, and empty `window`, `overlap`, `condition_frame` and
    `region`, mean the engine's defaults; `condition_frame` is sent in i2v only and
    `region` in the plate modes only, as the engine allows. The plate and mask paths are
    filled in by the caller once the inputs are rendered.
    """
    if not NAME_PATTERN.fullmatch(context.name):
        raise SettingsError(
            "name", "rename the node to letters, digits, '_' or '-' (it names the takes)"
        )
    prompt = str(values.get("prompt", "")).strip()
    if not prompt:
        raise SettingsError("prompt", "type what to generate")
    model = str(values.get("model", "")).strip()
    if not model:
        raise SettingsError(
            "model", "choose a model folder, a name under GENVFX_MODELS, or builtin:tiny-ltx"
        )
    mode = str(values.get("mode", "t2v"))
    if mode not in MODES:
        raise SettingsError("mode", "{!r} is not one of {}".format(mode, ", ".join(MODES)))
    if mode in NEEDS_PLATE and context.plate_range is None:
        raise SettingsError("plate", "connect a plate: mode {} starts from it".format(mode))
    if mode == "inpaint" and not context.has_mask:
        raise SettingsError("mask", "connect a mask (white = generate) for mode inpaint")
    first, last = parse_frames(str(values.get("frames", "")), context)
    job: Dict[str, Any] = {
        "prompt": prompt,
        "negative_prompt": str(values.get("negative_prompt", "")),
        "model": model,
        "mode": mode,
        "frames": {"first": first, "last": last},
        "seed": _integer("seed", values.get("seed", 0), 0, MAX_SEED),
        "output_root": output_root(str(values.get("output_root", "")), context),
        "name": context.name,
    }
    width, height = context.plate_format or context.root_format
    job["format"] = {"width": int(width), "height": int(height)}
    steps = _integer("steps", values.get("steps", 0), 0, 1000)
    if steps:
        job["steps"] = steps
    guidance = _number("guidance", values.get("guidance", 0.0), 0.0, 100.0)
    if guidance:
        job["guidance"] = guidance
    if mode in ("v2v", "inpaint"):
        job["strength"] = _number("strength", values.get("strength", 0.6), 0.0, 1.0)
    for knob, (low, high) in OPTIONAL_INTEGERS.items():
        text = str(values.get(knob, "")).strip()
        if text and (knob != "condition_frame" or mode == "i2v"):
            job[knob] = _integer(knob, text, low, high)
    region = str(values.get("region", "")).strip()
    if region and mode in NEEDS_PLATE:
        if not REGION.fullmatch(region):
            raise SettingsError(
                "region", "{!r} is not X,Y,WIDTH,HEIGHT in plate pixels".format(region)
            )
        job["region"] = region.replace(" ", "")
    for knob in MEMORY_LEVERS:
        if values.get(knob):
            job[knob] = True
    matte = str(values.get("matte", "auto"))
    if matte not in MATTES:
        raise SettingsError("matte", "{!r} is not one of {}".format(matte, ", ".join(MATTES)))
    if matte == "mask" and not context.has_mask:
        raise SettingsError("matte", "connect a mask for matte mask")
    if matte == "difference" and mode not in ("v2v", "inpaint"):
        raise SettingsError("matte", "difference needs mode v2v or inpaint")
    if matte != "auto":
        job["matte"] = matte
    if values.get("draft"):
        job["model_size"] = draft_size(int(width), int(height))
    return job


def draft_size(width: int, height: int) -> Dict[str, int]:
    """The job's `model_size` for a draft: half the format's width and height, scaled down
    with its aspect to at most `DRAFT_MAX_PIXELS`, each side at least 8.

    The engine fits its working size to this budget in every mode (a plate mode's region
    too) and writes the take at the full format, so a draft drops in at the comp's size.
    """
    half_width, half_height = width / 2.0, height / 2.0
    scale = min(1.0, (DRAFT_MAX_PIXELS / (half_width * half_height)) ** 0.5)
    return {
        "width": max(8, int(half_width * scale)),
        "height": max(8, int(half_height * scale)),
    }
