"""A Nuke script's colour management, as genvfx must honour it: one reader for every caller.

Takes must be written in the script's working space with a config genvfx can load.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidField
from .nk import Script

ROOT_KNOBS = ("colorManagement", "OCIO_config", "customOCIOConfigPath", "workingSpaceLUT")
"""The Root knobs that decide a script's colour management."""

NUKE_LINEAR = "lin_rec709"
"""Nuke's own (non-OCIO) colour management works in linear Rec.709."""

TCL_ACTIVE = re.compile(r"[\[\]$]")
"""Characters that make Nuke evaluate text as TCL; genvfx never evaluates it."""


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
    """The colour management of a saved script's Root."""
    root = script.root
    knobs = {name: root.knob(name) if root is not None else None for name in ROOT_KNOBS}
    return root_colour(knobs, script_path)


def root_colour(knobs: Mapping[str, str | None], script_path: Path | None = None) -> ScriptColour:
    """The colour management that the Root knobs `ROOT_KNOBS` describe.

    The node sends these knob values with each job; `generate --script` reads them from the
    saved script: both end here, so a script means the same colour in either.
    """
    if (knobs.get("colorManagement") or "Nuke") != "OCIO":
        lut = knobs.get("workingSpaceLUT")
        return ScriptColour(False, None, NUKE_LINEAR if lut in (None, "", "linear") else None)
    config_choice = knobs.get("OCIO_config") or ""
    config: str | None = None
    if config_choice == "custom":
        custom = knobs.get("customOCIOConfigPath") or ""
        if custom and not TCL_ACTIVE.search(custom):
            path = Path(custom).expanduser()
            if not path.is_absolute() and script_path is not None:
                path = script_path.parent / path
            config = str(path)
    elif config_choice == "nuke-default":
        return ScriptColour(True, None, NUKE_LINEAR)
    elif config_choice.removeprefix("fn-nuke_").startswith(("cg-config", "studio-config")):
        config = "ocio://" + config_choice.removeprefix("fn-nuke_")
    working = knobs.get("workingSpaceLUT") or "scene_linear"
    if config is None and working != "scene_linear":
        return ScriptColour(True, None, None)
    return ScriptColour(True, config, working)


def check_root_knobs(value: Any) -> dict[str, str]:
    """Root knob values sent by a host: an object of `ROOT_KNOBS` names to strings."""
    allowed = "an object of " + ", ".join(ROOT_KNOBS) + " to strings"
    if not isinstance(value, Mapping):
        raise InvalidField("script_colour", value, allowed)
    checked: dict[str, str] = {}
    for name, knob_value in value.items():
        if name not in ROOT_KNOBS or not isinstance(knob_value, str) or len(knob_value) > 4096:
            raise InvalidField(f"script_colour.{name}", knob_value, allowed)
        checked[name] = knob_value
    return checked


def colour_fields(colour: ScriptColour) -> dict[str, str]:
    """The job fields (ocio_config, working_space) this colour management sets."""
    fields: dict[str, str] = {}
    if colour.ocio_config:
        fields["ocio_config"] = colour.ocio_config
    if colour.working_space:
        fields["working_space"] = colour.working_space
    return fields
