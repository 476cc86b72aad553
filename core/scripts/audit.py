"""Finding every generated element a script reads: Reads whose frames carry genvfx provenance.

A frame is generated when its EXR header has `genvfx/` attributes. A Read whose frames are
all missing still counts when its folder holds a genvfx take manifest, so a delivery check
cannot be passed by deleting frames.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import GenvfxError, InvalidField
from ..media.exr import ATTRIBUTE_PREFIX, read_attributes
from ..take.record import TakeRecord
from .nk import Node, Script

_HASHES = re.compile(r"#+")
_PRINTF = re.compile(r"%(0?)(\d*)d")
_TCL_ACTIVE = re.compile(r"[\[\]$]")


@dataclass(frozen=True)
class GeneratedRead:
    """One Read of generated frames, with the provenance of its first generated frame."""

    node: str
    path: str
    first: int
    last: int
    model: str
    weights_hash: str
    prompt: str
    seed: int | None
    take: str
    frames_expected: int
    frames_found: int
    frames_generated: int
    all_frames_exist: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Audit:
    script: str
    reads_checked: int
    generated: list[GeneratedRead]
    unresolved: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "script": self.script,
            "reads_checked": self.reads_checked,
            "generated": [g.to_dict() for g in self.generated],
            "unresolved": self.unresolved,
        }


def frame_file(pattern: str, frame: int) -> str:
    """`pattern` with its frame number filled in (`####` or `%04d`)."""
    if _HASHES.search(pattern):
        return _HASHES.sub(lambda m: f"{frame:0{len(m.group())}d}", pattern)
    return _PRINTF.sub(lambda m: f"{frame:0{int(m.group(2) or 0)}d}", pattern)


def _int(node: Node, name: str, default: int) -> int:
    value = node.knob(name)
    try:
        return int(float(value)) if value is not None else default
    except ValueError:
        return default


def audit_script(script_path: Path) -> Audit:
    path = Path(script_path)
    if not path.is_file():
        raise InvalidField("script", str(path), "an existing .nk file")
    script = Script.read(path)
    generated: list[GeneratedRead] = []
    unresolved: list[str] = []
    reads = [n for n in script.nodes() if n.cls == "Read"]
    for node in reads:
        text = node.knob("file")
        if not text:
            continue
        if _TCL_ACTIVE.search(text):
            unresolved.append(node.full_name)
            continue
        pattern = Path(text).expanduser()
        if not pattern.is_absolute():
            pattern = path.parent.absolute() / pattern
        found = _audit_read(node, str(pattern))
        if found is not None:
            generated.append(found)
    return Audit(str(path), len(reads), generated, unresolved)


def _audit_read(node: Node, pattern: str) -> GeneratedRead | None:
    first = _int(node, "first", 1)
    last = _int(node, "last", first)
    is_sequence = frame_file(pattern, 0) != pattern
    frames = list(range(first, last + 1)) if is_sequence else [first]
    existing = [
        Path(frame_file(pattern, f)) for f in frames if Path(frame_file(pattern, f)).is_file()
    ]
    attributes: dict[str, Any] | None = None
    generated_count = 0
    for frame_path in existing:
        try:
            attrs = read_attributes(frame_path)
        except GenvfxError:
            continue
        if attrs:
            generated_count += 1
            attributes = attributes or attrs
    if attributes is None:
        attributes = _manifest_provenance(Path(pattern).parent)
        if attributes is None:
            return None

    def text(key: str) -> str:
        return str(attributes.get(ATTRIBUTE_PREFIX + key, "")) if attributes else ""

    seed = attributes.get(ATTRIBUTE_PREFIX + "seed")
    return GeneratedRead(
        node=node.full_name,
        path=pattern,
        first=first,
        last=last,
        model=text("model"),
        weights_hash=text("weights_hash"),
        prompt=text("prompt"),
        seed=int(seed) if isinstance(seed, (int, float, str)) and str(seed).isdigit() else None,
        take=text("take"),
        frames_expected=len(frames),
        frames_found=len(existing),
        frames_generated=generated_count,
        all_frames_exist=len(existing) == len(frames),
    )


def _manifest_provenance(folder: Path) -> dict[str, Any] | None:
    """Provenance from a take record, for a Read whose frames are gone."""
    record = TakeRecord.load(folder)
    if record is None:
        return None
    return dict(record.provenance(record.first))
