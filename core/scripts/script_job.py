"""Job fields taken from a Nuke script: a Read's plate, range and format, the Root's colour.

`genvfx generate --script comp.nk --node Read1` fills the job from these; flags still
override. Nothing here evaluates TCL: a Read path holding `[...]` or `$` is refused.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidField
from .nk import Node, Script

NUKE_LINEAR = "lin_rec709"
"""Nuke's own (non-OCIO) colour management works in linear Rec.709."""

_TCL_ACTIVE = re.compile(r"[\[\]$]")
_NUMBERS = re.compile(r"^\s*(\d+)\s+(\d+)")


@dataclass(frozen=True)
class ScriptColour:
    """The Root's colour management: an OCIO config genvfx can load, and the working space.

    `ocio_config` is None when the script uses Nuke's own management or a config only Nuke
    has (its bundled `aces_1.2`: then only the portable `scene_linear` role is kept, which
    the built-in ACES configs agree on); `working_space` is None when it cannot be named.
    """

    managed_by_ocio: bool
    ocio_config: str | None
    working_space: str | None


def script_colour(script: Script, script_path: Path | None = None) -> ScriptColour:
    root = script.root
    if root is None or (root.knob("colorManagement") or "Nuke") != "OCIO":
        lut = root.knob("workingSpaceLUT") if root is not None else None
        return ScriptColour(False, None, NUKE_LINEAR if lut in (None, "linear") else None)
    config_choice = root.knob("OCIO_config") or ""
    config: str | None = None
    if config_choice == "custom":
        custom = root.knob("customOCIOConfigPath") or ""
        if custom and not _TCL_ACTIVE.search(custom):
            path = Path(custom).expanduser()
            if not path.is_absolute() and script_path is not None:
                path = script_path.parent / path
            config = str(path)
    elif config_choice == "nuke-default":
        return ScriptColour(True, None, NUKE_LINEAR)
    elif config_choice.removeprefix("fn-nuke_").startswith(("cg-config", "studio-config")):
        config = "ocio://" + config_choice.removeprefix("fn-nuke_")
    working = root.knob("workingSpaceLUT") or "scene_linear"
    if config is None and working != "scene_linear":
        return ScriptColour(True, None, None)
    return ScriptColour(True, config, working)


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
    if _TCL_ACTIVE.search(text):
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
    if colour.ocio_config:
        fields["ocio_config"] = colour.ocio_config
    if colour.working_space:
        fields["working_space"] = colour.working_space
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
