"""Edits that only add lines: a source node plus a Merge2 over a chosen node.

The Merge2 goes right after the chosen node's block, so whatever consumed the chosen node
(the next node's pop, a later `set`/`push $N`) now consumes the merge. Its A input (the
new source) must sit directly below the chosen node on the stack, so the source block is
added at the last point of the same scope where the stack is exactly as deep as the chosen
node's inputs leave it, with nothing afterwards reaching below that depth: every other
node's inputs stay what they were. For a node with no inputs (a Read) that point is the
line right above it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import InvalidField
from .script import Node, Script
from .stack import Step
from .tokens import ENCODING, ERRORS

READ_OFFSET_X = 150
MERGE_OFFSET_Y = 120


@dataclass(frozen=True)
class NewNode:
    """A node to write: its class and knob lines as (name, value word as written)."""

    cls: str
    knobs: tuple[tuple[str, str], ...]
    name: str


@dataclass(frozen=True)
class Inserted:
    """The edited script bytes and the names the added nodes got."""

    data: bytes
    source_name: str
    merge_name: str


def insert_over(script: Script, target: Node, source: NewNode, merge: NewNode) -> Inserted:
    """Add `source` (no inputs) and a Merge2 (B = `target`, A = `source`) after `target`."""
    if target.cls == "Root" or target.statement.node is None:
        raise InvalidField("node", target.full_name, "a node that is part of the graph (not Root)")
    steps = script.timelines.get(target.parent, [])
    index = next((i for i, s in enumerate(steps) if s.node is target), None)
    if index is None:
        raise InvalidField("node", target.full_name, "a node on the script's stack")
    source_at = script.statements[steps[_source_step(steps, index, target)].first].start
    merge_at = script.statements[_after_clone_names(script, steps[index].last)].end

    taken = {n.name for n in _siblings(script, target) if n.name}
    source_name = _unique(source.name, taken)
    taken.add(source_name)
    merge_name = _unique(merge.name, taken)

    x = _int_knob(target, "xpos")
    y = _int_knob(target, "ypos")
    indent = _indent(script, target)
    newline = script.newline()
    source_text = _block(
        source.cls,
        (("inputs", "0"), *source.knobs, ("name", source_name)),
        (x + READ_OFFSET_X, y),
        indent,
        newline,
    )
    merge_text = _block(
        merge.cls,
        (("inputs", "2"), *merge.knobs, ("name", merge_name)),
        (x, y + MERGE_OFFSET_Y),
        indent,
        newline,
    )
    data = script.data
    if merge_at == len(data) and data and not data.endswith(b"\n"):
        merge_text = newline + merge_text
    edits = sorted([(source_at, 0, source_text), (merge_at, 1, merge_text)])
    out: list[bytes] = []
    last = 0
    for offset, _, text in edits:
        out.append(data[last:offset])
        out.append(text)
        last = offset
    out.append(data[last:])
    return Inserted(b"".join(out), source_name, merge_name)


def _source_step(steps: list[Step], index: int, target: Node) -> int:
    """Index of the step before which a no-input node lands directly under `target`'s inputs."""
    depth_wanted = steps[index].before - target.input_total
    if depth_wanted < 0:
        raise InvalidField(
            "node",
            target.full_name,
            "a node whose inputs are inside the script (its input comes from outside the "
            "pasted fragment)",
        )
    last_dip = max((i for i in range(index) if steps[i].low < depth_wanted), default=-1)
    depth = steps[last_dip].after if last_dip >= 0 else 0
    step = last_dip + 1
    while depth != depth_wanted:
        if step >= index:
            raise InvalidField(
                "node", target.full_name, "a node whose inputs are built inside its scope"
            )
        depth = steps[step].after
        step += 1
    return step


def _after_clone_names(script: Script, last: int) -> int:
    """Skip the `set Cxxx [stack 0]` lines that name the node for its clones.

    A clone copies the node its variable names when the clone line runs, so the merge
    must not come between the node and those names (the clones would clone the merge).
    """
    used = {n.clone_ref.lstrip("$") for n in script.nodes() if n.clone_ref}
    statements = script.statements
    index = last + 1
    while index < len(statements):
        words = statements[index].words
        if statements[index].kind != "command" or words[:1] != ["set"] or len(words) < 3:
            break
        if words[1] not in used or words[2].replace(" ", "") != "[stack0]":
            break
        last = index
        index += 1
    return last


def _siblings(script: Script, target: Node) -> list[Node]:
    if target.parent is not None:
        return target.parent.children
    return list(script.top_level())


def _unique(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    number = 2
    while f"{name}_{number}" in taken:
        number += 1
    return f"{name}_{number}"


def _int_knob(node: Node, name: str) -> int:
    try:
        return int(float(node.knob(name) or 0))
    except ValueError:
        return 0


def _indent(script: Script, target: Node) -> bytes:
    raw = script.data[target.statement.start : target.statement.end]
    stripped = raw.lstrip(b" \t")
    return raw[: len(raw) - len(stripped)]


def _block(
    cls: str,
    knobs: tuple[tuple[str, str], ...],
    position: tuple[int, int],
    indent: bytes,
    newline: bytes,
) -> bytes:
    inner = indent + (b"\t" if indent.startswith(b"\t") else b" ")
    lines = [indent + cls.encode() + b" {"]
    user: list[tuple[str, str]] = []
    for name, value in (*knobs, ("xpos", str(position[0])), ("ypos", str(position[1]))):
        if name == "addUserKnob" or name.startswith("genvfx_"):
            user.append((name, value))
        else:
            lines.append(inner + f"{name} {value}".encode(ENCODING, ERRORS))
    lines.extend(inner + f"{name} {value}".encode(ENCODING, ERRORS) for name, value in user)
    lines.append(indent + b"}")
    return newline.join(lines) + newline
