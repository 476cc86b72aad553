"""The takes of one element on disk, read from each take's manifest.json.

This layer cannot import genvfx: it reads the take record through its documented schema
(`docs/take-record.md`), and skips a record of a schema it does not know.
"""

import json
import os
import re
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

VERSION_DIR = re.compile(r"^v(\d{3,})$")
RECORD_SCHEMAS = (0, 1)
"""Take record schemas this reader understands (0: records written before it was numbered)."""
LABEL_PROMPT_CHARS = 48
_EVALUATED = re.compile(r'[\[\]${}\\"\x00-\x1f\x7f]')
"""Characters Nuke's file knob would evaluate (TCL) or that break a path: such takes are skipped."""
MAX_SIDE = 16384


class TakeInfo(NamedTuple):
    """One complete take, as the take selector shows it."""

    version: str
    number: int
    pattern: str
    first: int
    last: int
    seed: Optional[int]
    prompt: str
    folder: str
    format: Optional[Tuple[int, int]] = None
    """(width, height) of the frames (`generated.resized_to`), when the record says."""

    @property
    def label(self) -> str:
        prompt = " ".join(self.prompt.split()).replace("/", "-")
        if len(prompt) > LABEL_PROMPT_CHARS:
            prompt = prompt[: LABEL_PROMPT_CHARS - 1] + "…"
        seed = "?" if self.seed is None else str(self.seed)
        return "{}  seed {}  {}".format(self.version, seed, prompt)


def read_manifest(folder: str) -> Optional[Dict[str, Any]]:
    try:
        with open(os.path.join(folder, "manifest.json"), encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def take_info(folder: str, number: int, running: bool = False) -> Optional[TakeInfo]:
    """The take in `folder` when its manifest says it is complete (or, with `running`, still
    being written), else None."""
    manifest = read_manifest(folder)
    if not manifest or manifest.get("schema", 0) not in RECORD_SCHEMAS:
        return None
    if running:
        if manifest.get("status") != "running":
            return None
    elif manifest.get("complete") is not True or manifest.get("status", "complete") != "complete":
        return None
    try:
        first, last = int(manifest["first"]), int(manifest["last"])
        pattern = frame_pattern(folder, str(manifest["pattern"]), last)
    except (KeyError, TypeError, ValueError, OverflowError):
        return None
    if pattern is None:
        return None
    job = manifest.get("job")
    if not isinstance(job, dict):
        job = {}
    seed = job.get("seed")
    return TakeInfo(
        version=os.path.basename(folder),
        number=number,
        pattern=pattern,
        first=first,
        last=last,
        seed=seed if isinstance(seed, int) else None,
        prompt=str(job.get("prompt", "")),
        folder=folder,
        format=frame_format(manifest),
    )


def frame_format(manifest: Dict[str, Any]) -> Optional[Tuple[int, int]]:
    """The take's (width, height) from `generated.resized_to`, or None if absent or odd."""
    generated = manifest.get("generated")
    size = generated.get("resized_to") if isinstance(generated, dict) else None
    if not isinstance(size, dict):
        return None
    sides = (size.get("width"), size.get("height"))
    if not all(type(side) is int and 1 <= side <= MAX_SIDE for side in sides):
        return None
    return int(sides[0]), int(sides[1])  # type: ignore[arg-type]


def frame_pattern(folder: str, recorded: str, last: int) -> Optional[str]:
    """The take's frames as the node's Read gets them, or None for a manifest not to trust.

    The manifest is hostile input: its pattern must name `<name>_<version>.####.exr`, the
    file names a take of this folder has, and the Read gets that name joined to the folder,
    never the manifest's text (Nuke evaluates the file knob as TCL).
    """
    name = os.path.basename(os.path.dirname(folder))
    version = os.path.basename(folder)
    expected = "{}_{}.{}.exr".format(name, version, "#" * max(4, len(str(abs(last)))))
    if os.path.basename(recorded) != expected or _EVALUATED.search(folder):
        return None
    return os.path.join(folder, expected)


def list_takes(output_root: str, name: str) -> List[TakeInfo]:
    """Every complete take of `name` under `output_root`, newest first."""
    base = os.path.join(output_root, name)
    try:
        entries = os.listdir(base)
    except OSError:
        return []
    found = []
    for entry in entries:
        match = VERSION_DIR.match(entry)
        if match:
            info = take_info(os.path.join(base, entry), int(match.group(1)))
            if info is not None:
                found.append(info)
    return sorted(found, key=lambda t: t.number, reverse=True)
