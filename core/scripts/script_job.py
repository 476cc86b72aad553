"""Job fields taken from a Nuke script: a Read's plate, range and format, the Root's colour.

`genvfx generate --script comp.nk --node Read1` fills the job from these; flags still
override. Nothing here evaluates TCL: a Read path holding `[...]` or `$` is refused.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any

from ..errors import InvalidField
from .colour import TCL_ACTIVE, colour_fields, script_colour
from .nk import Node, Script

_NUMBERS = re.compile(r"^\s*(\d+)\s+(\d+)")


def read_node(script: Script, name: str) -> Node:
    node = script.find(name)
    if node.cls not in ("Read", "DeepRead"):
        raise InvalidField("node", name, f"a Read node (it is a {node.cls})")
    return node


def plate_path(node: Node, script_path: Path) -> str:
    """The Read's `file` as an absolute path (relative paths are relative to the script)."""
    text = node.knob("file")
    if not text:
        raise InvalidField("node", node.full_name, "a Read whose file knob is set")
    if TCL_ACTIVE.search(text):
        raise InvalidField(
            "node",
            node.full_name,
            f"a Read whose file is a plain path (its file {text!r} holds a TCL expression, "
            "which genvfx does not evaluate; pass --plate instead)",
        )
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = script_path.parent.absolute() / path
    return str(path)


def _int_knob(node: Node | None, name: str) -> int | None:
    value = node.knob(name) if node is not None else None
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError:
        return None


def _format(node: Node | None) -> str | None:
    value = node.knob("format") if node is not None else None
    match = _NUMBERS.match(value or "")
    return f"{match.group(1)}x{match.group(2)}" if match else None


def script_job_fields(script_path: Path, node_name: str, mode: str | None) -> dict[str, Any]:
    """Job fields from `node_name` in the script and its Root.

    The Read's file becomes the plate, unless the mode is text-to-video; with no mode
    given, a plate means video-to-video.
    """
    path = Path(script_path)
    if not path.is_file():
        raise InvalidField("script", str(path), "an existing .nk file")
    script = Script.read(path)
    node = read_node(script, node_name)
    root = script.root
    fields: dict[str, Any] = {}
    first = _int_knob(node, "first")
    last = _int_knob(node, "last")
    if first is None and last is None:
        first, last = _int_knob(root, "first_frame"), _int_knob(root, "last_frame")
    first = 1 if first is None else first
    last = first if last is None else last
    fields["frames"] = f"{first}-{last}"
    size = _format(node) or _format(root)
    if size:
        fields["format"] = size
    fps = root.knob("fps") if root is not None else None
    if fps:
        with contextlib.suppress(ValueError):
            fields["fps"] = float(fps)
    colour = script_colour(script, path)
    fields.update(colour_fields(colour))
    chosen = mode or "v2v"
    if chosen != "t2v":
        fields["plate"] = plate_path(node, path)
        fields["mode"] = chosen
        space = _read_colour_space(node) if colour.managed_by_ocio else None
        if space:
            fields["plate_space"] = space
    return fields


def _read_colour_space(node: Node) -> str | None:
    """The OCIO colour space a Read decodes its files from, as its `colorspace` knob names it.

    `default (X)` is Nuke's way of showing the config's default X for the file type; a Read
    left at the default with no name saved gives None (the working space is assumed).
    """
    value = node.knob("colorspace")
    if not value:
        return None
    match = re.fullmatch(r"default \((.+)\)", value.strip())
    return (match.group(1) if match else value).strip() or None
