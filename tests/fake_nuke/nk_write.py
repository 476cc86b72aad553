"""Save the fake session as .nk text and read it back through genvfx's own .nk reader.

Nuke writes a node as `Class { knob value ... }` with only the knobs that differ from
their default (never one flagged DO_NOT_WRITE), a gizmo without its insides (they come
from the .gizmo file when the script is read), a group's children up to `end_group`, and
connects nodes through the stack (`set`/`push`). Reading sets each knob from its text
(`Knob.fromScript`), collecting what it cannot read as Nuke's load errors, then runs each
node's onCreate.
"""

from __future__ import annotations

from typing import Any

from genvfx.scripts.nk import Node as NkNode
from genvfx.scripts.nk import Script, quote
from tests.fake_nuke import nuke

SKIPPED = frozenset({"name", "inputs", "xpos", "ypos", "selected"})


def _is_gizmo(node: nuke.Node) -> bool:
    return nuke._find_gizmo(node.Class()) is not None


def _knob_lines(node: nuke.Node) -> list[str]:
    lines = []
    for name, knob in node._knobs.items():
        if name in SKIPPED or knob.getFlag(nuke.DO_NOT_WRITE) or knob._kind == nuke._BUTTON:
            continue
        if knob._value == knob._default:
            continue
        lines.append(f" {name} {quote(knob.toScript())}")
    if node.Class() == "Read" or node._format.width() != 1920 or node._format.height() != 1080:
        width, height = node._format.width(), node._format.height()
        lines.append(f' format "{width} {height} 0 0 {width} {height} 1"')
    return lines


def _write_group(group: nuke.Node, out: list[str], variables: dict[int, str]) -> None:
    done: set[int] = set()

    def write(node: nuke.Node) -> None:
        if id(node) in done:
            return
        done.add(id(node))
        for source in node._inputs:
            if source is not None and source._parent is group:
                write(source)
        for source in reversed(node._inputs):
            out.append(f"push ${variables[id(source)]}" if source is not None else "push 0")
        out.append(f"{node.Class()} {{")
        out.append(f" inputs {len(node._inputs)}")
        out.extend(_knob_lines(node))
        out.append(f" name {quote(node.name())}")
        out.append("}")
        if node._children and not _is_gizmo(node):
            _write_group(node, out, variables)
            out.append("end_group")
        variables[id(node)] = f"N{len(variables) + 1:06x}"
        out.append(f"set {variables[id(node)]} [stack 0]")

    for child in group._children:
        write(child)


def script_text(root: nuke.Root) -> str:
    out = ["#! nuke -nx", "version 15.1 v5", "Root {", " inputs 0"]
    out.extend(_knob_lines(root))
    out.append(f" name {quote(root._path)}")
    out.append("}")
    _write_group(root, out, {})
    return "\n".join(out) + "\n"


def node_text(node: nuke.Node) -> str:
    """A node as Nuke copies it to the clipboard (its inputs left out)."""
    out: list[str] = []
    saved = node._inputs
    node._inputs = []
    try:
        holder = nuke.Node("Group", "clipboard")
        holder._children = [node]
        _write_group(holder, out, {})
    finally:
        node._inputs = saved
    return "\n".join(out) + "\n"


def load(data: bytes, group: nuke.Node, paste: bool = False) -> list[nuke.Node]:
    """Make the nodes `data` describes inside `group`; their load errors are recorded."""
    script = Script.parse(data)
    made: dict[int, nuke.Node] = {}
    order: list[tuple[NkNode, nuke.Node]] = []
    for parsed in script.nodes():
        if parsed.cls == "Root":
            _apply(nuke._ROOT, parsed)
            continue
        parent = made[id(parsed.parent)] if parsed.parent is not None else group
        name = parsed.name or parsed.cls
        if paste and parent.node(name) is not None:
            name = nuke._unique_name(parsed.cls, parent)
        node = nuke._instantiate(parsed.cls, name, parent)
        _apply(node, parsed)
        made[id(parsed)] = node
        order.append((parsed, node))
    for parsed, node in order:
        for index, source in enumerate(parsed.inputs):
            found = made.get(id(source)) if isinstance(source, NkNode) else None
            node.setInput(index, found)
    for _, node in order:
        nuke._on_create(node)
    return [node for _, node in order]


def _apply(node: nuke.Node, parsed: NkNode) -> None:
    for knob in parsed.knobs:
        if knob.name in SKIPPED:
            continue
        if knob.name == "format":
            words = knob.value.split()
            node._format = nuke.Format(int(words[0]), int(words[1]))
            continue
        target: Any = node._knobs.get(knob.name)
        if target is None:
            node._add(knob.name, nuke._STRING, knob.value)
            continue
        try:
            target.fromScript(knob.value)
        except ValueError as exc:
            with nuke._LOCK:
                nuke._STATE["load_errors"].append(f"{node.fullName()}.{knob.name}: {exc}")
