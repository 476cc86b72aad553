"""How each job field is parsed, spelled on the command line and on the node, and explained.

A field declares all of this once, as metadata on its `GenerationJob` attribute (`spec`):
the job loader, the CLI's flags and the contract test against the Nuke node all read it.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidField
from .values import MAX_FRAME_NUMBER, MAX_LORA_WEIGHT, MAX_SIDE, Format, FrameRange, Lora

Parser = Callable[[str, Any], Any]
METADATA_KEY = "genvfx"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,99}$")
DEVICE_PATTERN = re.compile(r"^(cpu|mps|cuda(:\d{1,2})?)$")
URI_PREFIX = "ocio://"


@dataclass(frozen=True)
class FieldSpec:
    """One job field's parser and spellings.

    `flag`: the `genvfx generate` option (None: not a flag); `knob`: the GenerateElement
    knob it comes from (None: the node fills it from context or leaves it unset);
    `required`: what the field must hold when it is required; `cli_type`, `choices`,
    `boolean` and `repeat` (the flag may be given again, each adding one value) shape the flag.
    """

    parse: Parser
    help: str
    flag: str | None = None
    knob: str | None = None
    required: str | None = None
    cli_type: Callable[[str], Any] = str
    choices: tuple[str, ...] | None = None
    boolean: bool = False
    repeat: bool = False


def spec(
    parse: Parser,
    help: str,
    flag: str | None = None,
    knob: str | None = None,
    required: str | None = None,
    cli_type: Callable[[str], Any] = str,
    choices: tuple[str, ...] | None = None,
    boolean: bool = False,
    repeat: bool = False,
) -> dict[str, FieldSpec]:
    """Dataclass field metadata holding one `FieldSpec`."""
    return {
        METADATA_KEY: FieldSpec(
            parse, help, flag, knob, required, cli_type, choices, boolean, repeat
        )
    }


MAX_TEXT = 100_000
"""The most characters a text field may hold."""


def text(allow_empty: bool) -> Parser:
    def parse(name: str, value: Any) -> str:
        if not isinstance(value, str):
            raise InvalidField(name, value, "a string")
        if len(value) > MAX_TEXT:
            raise InvalidField(name, f"<{len(value)} characters>", f"at most {MAX_TEXT}")
        if not allow_empty and not value.strip():
            raise InvalidField(name, value, "a non-empty string")
        if "\x00" in value:
            raise InvalidField(name, value, "text without NUL characters")
        if not valid_unicode(value):
            raise InvalidField(name, value, "valid Unicode text (no lone surrogates)")
        return value

    return parse


def path(name: str, value: Any) -> str:
    """A file or folder path, made absolute and normalised (an `ocio://` name is kept).

    A job records where its files are, not where it was typed: a farm task, a replay from
    another folder and a resume all read the same files. Relative paths are taken from the
    current folder here; `resolve_relative` first places those of a job file beside it.
    """
    text_value = text(allow_empty=False)(name, value)
    if text_value.startswith(URI_PREFIX):
        return text_value
    return os.path.abspath(os.path.expanduser(text_value))


def resolve_relative(data: dict[str, Any], names: tuple[str, ...], base: str) -> None:
    """Make the relative paths among `names` in `data` relative to the folder `base`."""
    for key in names:
        value = data.get(key)
        if isinstance(value, str) and value and not value.startswith(URI_PREFIX):
            expanded = os.path.expanduser(value)
            if not os.path.isabs(expanded):
                data[key] = os.path.join(base, expanded)


def valid_unicode(value: str) -> bool:
    """False for text that cannot be written as UTF-8 (it holds lone surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def choice(options: tuple[str, ...]) -> Parser:
    def parse(name: str, value: Any) -> str:
        if not isinstance(value, str) or value not in options:
            raise InvalidField(name, value, "one of " + ", ".join(options))
        return value

    return parse


def integer(low: int, high: int) -> Parser:
    def parse(name: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidField(name, value, f"an integer from {low} to {high}")
        return value

    return parse


def number(low: float, high: float, low_open: bool = False) -> Parser:
    def parse(name: str, value: Any) -> float:
        bound = f"({low}" if low_open else f"[{low}"
        allowed = f"a number in {bound}, {high}]"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidField(name, value, allowed)
        try:
            result = float(value)
        except OverflowError:
            raise InvalidField(name, value, allowed) from None
        too_low = result <= low if low_open else result < low
        if not math.isfinite(result) or too_low or result > high:
            raise InvalidField(name, value, allowed)
        return result

    return parse


def boolean(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidField(name, value, "true or false")
    return value


def frames(name: str, value: Any) -> FrameRange:
    if isinstance(value, str):
        return FrameRange.parse(value, name)
    if isinstance(value, Mapping) and set(value) == {"first", "last"}:
        bound = integer(-MAX_FRAME_NUMBER, MAX_FRAME_NUMBER)
        first = bound(f"{name}.first", value["first"])
        last = bound(f"{name}.last", value["last"])
        return FrameRange.checked(first, last, name)
    raise InvalidField(name, value, 'FIRST-LAST or {"first": N, "last": M}')


def image_format(name: str, value: Any) -> Format:
    if isinstance(value, str):
        return Format.parse(value, name)
    if isinstance(value, Mapping) and set(value) == {"width", "height"}:
        width = integer(8, MAX_SIDE)(f"{name}.width", value["width"])
        height = integer(8, MAX_SIDE)(f"{name}.height", value["height"])
        return Format.checked(width, height, name)
    raise InvalidField(name, value, 'WIDTHxHEIGHT or {"width": W, "height": H}')


def region(name: str, value: Any) -> tuple[int, int, int, int]:
    """A box of plate pixels: X,Y,WIDTH,HEIGHT from the display window's top-left, y down."""
    allowed = f"X,Y,WIDTH,HEIGHT in plate pixels (x, y >= 0; width, height from 1 to {MAX_SIDE})"
    parts: Any
    if isinstance(value, str):
        parts = value.replace(" ", "").split(",")
        if any(not re.fullmatch(r"-?\d{1,6}", p) for p in parts):
            raise InvalidField(name, value, allowed)
        parts = [int(p) for p in parts]
    elif isinstance(value, (list, tuple)):
        parts = list(value)
    else:
        raise InvalidField(name, value, allowed)
    if len(parts) != 4 or any(isinstance(p, bool) or not isinstance(p, int) for p in parts):
        raise InvalidField(name, value, allowed)
    x, y, width, height = parts
    if not (0 <= x <= MAX_SIDE and 0 <= y <= MAX_SIDE):
        raise InvalidField(name, value, allowed)
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        raise InvalidField(name, value, allowed)
    return (x, y, width, height)


def element_name(name: str, value: Any) -> str:
    if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value):
        raise InvalidField(
            name, value, "1-100 letters, digits, '_' or '-', starting with a letter or digit"
        )
    return value


def device(name: str, value: Any) -> str:
    if not isinstance(value, str) or not DEVICE_PATTERN.fullmatch(value):
        raise InvalidField(name, value, "cpu, cuda, cuda:N or mps")
    return value


LORA_ALLOWED = (
    "PATH[:WEIGHT] of a .safetensors file (weight a number from "
    f"-{MAX_LORA_WEIGHT:g} to {MAX_LORA_WEIGHT:g}, default 1), or a list of them"
)


def loras(name: str, value: Any) -> tuple[Lora, ...]:
    """LoRAs as `PATH[:WEIGHT]` strings or `{"path": ..., "weight": ...}` objects, in order."""
    items = value if isinstance(value, (list, tuple)) else [value]
    if len(items) > 16:
        raise InvalidField(name, value, "at most 16 LoRAs")
    return tuple(_lora(name, item) for item in items)


def _lora(name: str, item: Any) -> Lora:
    weight: Any = 1.0
    if isinstance(item, str):
        path, _, tail = item.rpartition(":")
        if path and re.fullmatch(r"-?\d+(\.\d*)?|-?\.\d+", tail):
            weight = float(tail)
        else:
            path = item
    elif isinstance(item, Mapping) and set(item) <= {"path", "weight"} and "path" in item:
        path, weight = item["path"], item.get("weight", 1.0)
    else:
        raise InvalidField(name, item, LORA_ALLOWED)
    path = text(allow_empty=False)(name, path)
    if not path.lower().endswith(".safetensors"):
        raise InvalidField(name, item, LORA_ALLOWED)
    weight = number(-MAX_LORA_WEIGHT, MAX_LORA_WEIGHT)(f"{name} weight", weight)
    return Lora(path, weight)
