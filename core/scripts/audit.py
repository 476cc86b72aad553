"""Every generated element a script holds, for a delivery check a supervisor can trust.

Reported, in script order:

- a `GenerateElement` node, anywhere: at the top, inside groups, as a group copied from
  the node, or inside a gizmo (a node whose class names a `.gizmo` file that holds one);
- a Read whose frames carry genvfx provenance (`genvfx/` EXR header attributes);
- a Read whose `genvfx` tab names a take (as `genvfx insert` writes it), or whose folder
  holds a take record, even when its frames or its whole take are gone.

For each, the take it comes from is checked: gone, unreachable, not complete, or complete
with frames that are missing or were changed after the take was completed (their size or
sha256 differs from the record). Reads whose file is a TCL expression and that carry no
genvfx tab cannot be checked without Nuke; they are listed as such.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import GenvfxError, InvalidField
from ..media.exr import ATTRIBUTE_PREFIX, read_attributes
from ..take.folder import MANIFEST
from ..take.record import TakeRecord, fingerprint
from .colour import TCL_ACTIVE
from .nk import Node, Script

_HASHES = re.compile(r"#+")
_PRINTF = re.compile(r"%(0?)(\d*)d")
NODE_CLASS = "GenerateElement"
GIZMO_DEPTH = 4


@dataclass(frozen=True)
class TakeState:
    """Where a take stands: `complete`, `incomplete`, `changed`, `gone` or `unreachable`."""

    folder: str
    status: str
    problems: tuple[str, ...] = ()
    record: TakeRecord | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Generated:
    """One generated element of the script: a GenerateElement node or a Read of a take."""

    kind: str
    node: str
    node_class: str
    path: str
    first: int | None
    last: int | None
    model: str
    weights_hash: str
    prompt: str
    seed: int | None
    mode: str
    matte: str
    take: str
    take_folder: str
    take_status: str
    problems: list[str]
    frames_expected: int
    frames_found: int
    frames_generated: int
    all_frames_exist: bool
    state: TakeState | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("state")
        return data


@dataclass(frozen=True)
class Audit:
    script: str
    reads_checked: int
    generated: list[Generated]
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


def _int(node: Node, name: str, default: int | None) -> int | None:
    value = node.knob(name)
    try:
        return int(float(value)) if value is not None else default
    except ValueError:
        return default


def audit_script(script_path: Path, gizmo_path: list[Path] | None = None) -> Audit:
    """Every generated element of the script, in script order.

    `gizmo_path`: the folders searched for `<Class>.gizmo` files (default: the script's
    folder, then each folder of `NUKE_PATH`, then `~/.nuke`).
    """
    path = Path(script_path)
    if not path.is_file():
        raise InvalidField("script", str(path), "an existing .nk file")
    script = Script.read(path)
    folders = gizmo_path if gizmo_path is not None else default_gizmo_path(path)
    gizmos = _GizmoFinder(folders)
    generated: list[Generated] = []
    unresolved: list[str] = []
    reads = 0
    check = functools.cache(check_take)  # many Reads of one take hash its frames once
    for node in script.nodes():
        if node.cls == "Read":
            reads += 1
            found = _audit_read(node, path, unresolved, check)
        elif is_generate_node(node) or gizmos.holds_generate(node.cls):
            found = _audit_generate_node(node, path, check)
        else:
            found = None
        if found is not None:
            generated.append(found)
    return Audit(str(path), reads, generated, unresolved)


def default_gizmo_path(script_path: Path) -> list[Path]:
    folders = [script_path.absolute().parent]
    folders += [Path(p) for p in os.environ.get("NUKE_PATH", "").split(os.pathsep) if p]
    folders.append(Path("~/.nuke").expanduser())
    return folders


def is_generate_node(node: Node) -> bool:
    """A GenerateElement, or a group made from one (it keeps the node's `genvfx` tab)."""
    if node.cls == NODE_CLASS:
        return True
    if not node.is_group:
        return False
    return any(
        k.name == "addUserKnob" and re.match(r"\{?20 genvfx l GenerateElement\b", k.value)
        for k in node.knobs
    )


class _GizmoFinder:
    """Which node classes are gizmos holding a GenerateElement, read from their files."""

    def __init__(self, folders: list[Path]) -> None:
        self.folders = folders
        self.known: dict[str, bool] = {}

    def holds_generate(self, cls: str, depth: int = 0) -> bool:
        if cls in self.known:
            return self.known[cls]
        self.known[cls] = False
        if depth > GIZMO_DEPTH or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", cls):
            return False
        for folder in self.folders:
            candidate = folder / f"{cls}.gizmo"
            try:
                if not candidate.is_file():
                    continue
                inner = Script.read(candidate)
            except (OSError, GenvfxError):
                continue
            found = any(
                is_generate_node(n) or self.holds_generate(n.cls, depth + 1) for n in inner.nodes()
            )
            self.known[cls] = found
            return found
        return False


SCRIPT_FOLDER_TCL = ("[file dirname [value root.name]]", "[file dirname [knob root.name]]")
"""The one TCL expression audit evaluates: the script's own folder, common in Read paths."""


def without_script_folder_tcl(text: str, script_path: Path) -> str:
    """`text` with a leading script-folder expression replaced by the script's folder."""
    for expression in SCRIPT_FOLDER_TCL:
        if text.startswith(expression):
            return str(script_path.absolute().parent) + text[len(expression) :]
    return text


def _resolved(text: str, script_path: Path) -> str:
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = script_path.parent.absolute() / path
    return os.path.normpath(path)


def _audit_read(
    node: Node, script_path: Path, unresolved: list[str], check_take: Callable[[str], TakeState]
) -> Generated | None:
    text = without_script_folder_tcl(node.knob("file") or "", script_path)
    tab_take = node.knob("genvfx_take")
    pattern = None
    if text and not TCL_ACTIVE.search(text):
        pattern = _resolved(text, script_path)
    elif text and not tab_take:
        unresolved.append(node.full_name)
        return None
    first = _int(node, "first", 1) or 0
    last = _int(node, "last", first)
    last = first if last is None else last
    frames: list[int] = []
    existing: list[Path] = []
    attributes: dict[str, Any] = {}
    generated_count = 0
    if pattern is not None:
        is_sequence = frame_file(pattern, 0) != pattern
        frames = list(range(first, last + 1)) if is_sequence else [first]
        existing = [Path(frame_file(pattern, f)) for f in frames]
        existing = [p for p in existing if p.is_file()]
        for frame_path in existing:
            try:
                attrs = read_attributes(frame_path)
            except GenvfxError:
                continue
            if attrs:
                generated_count += 1
                attributes = attributes or dict(attrs)
    folder = None
    if tab_take:
        folder = _resolved(tab_take, script_path) if not TCL_ACTIVE.search(tab_take) else tab_take
    elif pattern is not None and _has_manifest(Path(pattern).parent):
        folder = str(Path(pattern).parent)
    if not attributes and folder is None:
        return None
    state = check_take(folder) if folder is not None else None
    record = state.record if state is not None else None
    if not attributes and record is not None:
        attributes = dict(record.provenance(record.first))

    def value(key: str) -> str:
        found = attributes.get(ATTRIBUTE_PREFIX + key)
        if found is None and key in ("take", "prompt", "model", "weights_hash", "seed"):
            found = node.knob("genvfx_" + key)
        return "" if found is None else str(found)

    problems = list(state.problems) if state is not None else []
    if frames and len(existing) < len(frames):
        problems.append(f"{len(frames) - len(existing)} of {len(frames)} frames missing")
    return Generated(
        kind="read",
        node=node.full_name,
        node_class=node.cls,
        path=pattern or text,
        first=first,
        last=last,
        model=value("model"),
        weights_hash=value("weights_hash"),
        prompt=value("prompt"),
        seed=_seed(value("seed")),
        mode=value("mode"),
        matte=_matte(record),
        take=value("take") or (f"{record.name}/{record.version}" if record else ""),
        take_folder=folder or "",
        take_status=state.status if state is not None else "no record",
        problems=problems,
        frames_expected=len(frames),
        frames_found=len(existing),
        frames_generated=generated_count,
        all_frames_exist=bool(frames) and len(existing) == len(frames),
        state=state,
    )


def _audit_generate_node(
    node: Node, script_path: Path, check_take: Callable[[str], TakeState]
) -> Generated:
    """A GenerateElement (or a gizmo holding one): what it would make, and the take it shows."""
    take_file = node.knob("take_file") or ""
    folder = None
    if take_file and not TCL_ACTIVE.search(take_file):
        folder = str(Path(_resolved(take_file, script_path)).parent)
    state = check_take(folder) if folder is not None else None
    record = state.record if state is not None else None
    first = _int(node, "take_first", None)
    last = _int(node, "take_last", None)
    return Generated(
        kind="node",
        node=node.full_name,
        node_class=node.cls,
        path=take_file,
        first=first if first is not None else (record.first if record else None),
        last=last if last is not None else (record.last if record else None),
        model=node.knob("model") or (str(record.job.get("model", "")) if record else ""),
        weights_hash=str(record.model.get("weights_hash", "")) if record else "",
        prompt=node.knob("prompt") or (str(record.job.get("prompt", "")) if record else ""),
        seed=_seed(node.knob("seed") or (str(record.job.get("seed", "")) if record else "")),
        mode=node.knob("mode") or (str(record.job.get("mode", "")) if record else ""),
        matte=_matte(record),
        take=f"{record.name}/{record.version}" if record else (node.knob("take_version") or ""),
        take_folder=folder or "",
        take_status=state.status if state is not None else "no take yet",
        problems=list(state.problems) if state is not None else [],
        frames_expected=0,
        frames_found=0,
        frames_generated=0,
        all_frames_exist=False,
        state=state,
    )


def _seed(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def _matte(record: TakeRecord | None) -> str:
    if record is None:
        return ""
    return str(record.job.get("matte") or record.placement.get("alpha") or "")


def _has_manifest(folder: Path) -> bool:
    try:
        return (folder / MANIFEST).is_file()
    except OSError:
        return False


def check_take(folder: str) -> TakeState:
    """Is the take there, reachable, complete, and are its frames as they were completed?"""
    if TCL_ACTIVE.search(folder):
        return TakeState(folder, "unreachable", (f"take folder {folder!r} is a TCL expression",))
    try:
        os.stat(folder)
    except FileNotFoundError:
        return TakeState(folder, "gone", (f"take folder {folder} is gone",))
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return TakeState(folder, "unreachable", (f"take folder {folder} unreachable: {reason}",))
    try:
        record = TakeRecord.read(Path(folder))
    except InvalidField as exc:
        return TakeState(folder, "unreachable", (f"take record unreadable: {exc}",))
    if not record.complete:
        why = f" ({record.message})" if record.message else ""
        problem = f"take is not complete: status {record.status}{why}"
        return TakeState(folder, "incomplete", (problem,), record)
    problems = list(_changed_frames(record))
    return TakeState(folder, "changed" if problems else "complete", tuple(problems), record)


def _changed_frames(record: TakeRecord) -> Iterator[str]:
    for entry in record.frames:
        name = entry.get("file")
        if not isinstance(name, str) or "/" in name or name.startswith("."):
            continue
        path = Path(record.folder) / name
        if not path.is_file():
            yield f"frame {entry.get('frame')} missing"
            continue
        if "sha256" not in entry:
            continue
        now = fingerprint(path)
        if now["size"] != entry.get("size") or now["sha256"] != entry.get("sha256"):
            yield f"frame {entry.get('frame')} changed after the take was made"
