"""What a compositor should hear before a take is merged over a node: opaque, or misfitting.

An opaque take (made with matte `none`, or before takes had mattes) hides the plate over its
whole region when merged over it; a take whose format or frame range differs from the node
it goes over does not line up with it. Neither is refused (both can be meant): each is a
warning sentence the command prints.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..take.record import TakeRecord
from .nk.script import Node

_FORMAT = re.compile(r'^"?\s*(\d+)\s+(\d+)\b')
_INTEGER = re.compile(r"^-?\d+$")


def insert_warnings(take_dir: Path, node: Node) -> list[str]:
    """Warnings for merging the take in `take_dir` over `node` (empty when it fits)."""
    record = TakeRecord.read(take_dir)
    found: list[str] = []
    method = str(record.matte.get("method", "none"))
    label = f"{record.name}/{record.version}"
    if method == "none":
        why = "was made with matte none" if record.matte else "was made before takes had mattes"
        found.append(
            f"take {label} is opaque (it {why}): merged over {node.name} it hides the plate "
            "across its whole region; use a matte (e.g. --matte black) or genvfx matte"
        )
    size = _take_format(record)
    node_size = _node_format(node)
    if size and node_size and size != node_size:
        found.append(
            f"take {label} is {size[0]}x{size[1]} but {node.name} is "
            f"{node_size[0]}x{node_size[1]}: they will not line up"
        )
    frames = _node_frames(node)
    if frames and frames != (record.first, record.last):
        found.append(
            f"take {label} covers frames {record.first}-{record.last} but {node.name} "
            f"reads {frames[0]}-{frames[1]}"
        )
    return found


def _node_frames(node: Node) -> tuple[int, int] | None:
    first, last = node.knob("first"), node.knob("last")
    if first and last and _INTEGER.match(first) and _INTEGER.match(last):
        return int(first), int(last)
    return None


def _take_format(record: TakeRecord) -> tuple[int, int] | None:
    for source in (record.generated.get("resized_to"), record.placement.get("format")):
        if isinstance(source, dict):
            width, height = source.get("width"), source.get("height")
            if isinstance(width, int) and isinstance(height, int):
                return width, height
    return None


def _node_format(node: Node) -> tuple[int, int] | None:
    value = node.knob("format")
    match = _FORMAT.match(value) if value else None
    return (int(match.group(1)), int(match.group(2))) if match else None
