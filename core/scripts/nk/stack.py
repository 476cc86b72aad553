"""The stack rules of the .nk format: every node's inputs, and each group's stack timeline.

A node pops its inputs (input 0 is the top) and then pushes itself; `push 0` pushes "not
connected"; `set NAME [stack N]` names an entry and `push $NAME` pushes it again; a group's
children run on a fresh stack until `end_group`, after which the group is pushed on the
outer stack; `Root` is never pushed. The timeline (depth before, lowest depth touched,
depth after, per step) is what lets an edit add lines without changing any other input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .script import External, Input, Node

if TYPE_CHECKING:
    from .script import Script

_STACK_REF = re.compile(r"\[\s*stack\s+(\d+)\s*\]")


@dataclass(frozen=True)
class Step:
    """One stack-changing item of a scope: statements `first`..`last` (a group spans to its end)."""

    first: int
    last: int
    before: int
    low: int
    after: int
    node: Node | None = None


@dataclass
class _Frame:
    group: Node | None
    first: int = 0
    before: int = 0
    low: int = 0
    stack: list[Input] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)


def resolve_inputs(script: Script) -> None:
    """Fill every node's `inputs` and the script's per-scope `timelines`."""
    frames = [_Frame(None)]
    variables: dict[str, Input] = {}
    timelines: dict[Node | None, list[Step]] = {}
    last_index = len(script.statements) - 1
    for index, statement in enumerate(script.statements):
        frame = frames[-1]
        stack = frame.stack
        node = statement.node
        if node is not None:
            if node.clone_ref is not None:
                source = variables.get(node.clone_ref.lstrip("$"))
                if isinstance(source, Node):
                    node.clone_source = source
                    node.cls = node.cls or source.cls
            if node.cls == "Root" and node.clone_ref is None:
                continue
            before = len(stack)
            total = node.input_total
            node.inputs = [stack.pop() if stack else External("nothing") for _ in range(total)]
            if node.is_group:
                frames.append(_Frame(node, index, before, before - total))
            else:
                stack.append(node)
                frame.steps.append(Step(index, index, before, before - total, len(stack), node))
            continue
        words = statement.words
        if statement.kind != "command" or not words:
            continue
        before = len(stack)
        if words[0] == "push" and len(words) > 1:
            stack.append(_pushed(words[1], variables))
            frame.steps.append(Step(index, index, before, before, before + 1))
        elif words[0] == "set" and len(words) > 2:
            match = _STACK_REF.fullmatch(words[2])
            if match:
                depth = int(match.group(1))
                name = words[1]
                variables[name] = stack[-1 - depth] if depth < before else External(f"${name}")
                frame.steps.append(Step(index, index, before, before - 1 - depth, before))
        elif words[0] == "end_group" and len(frames) > 1:
            _close(frames, timelines, index)
    while len(frames) > 1:
        _close(frames, timelines, last_index)
    timelines[None] = frames[0].steps
    script.timelines = timelines


def _pushed(word: str, variables: dict[str, Input]) -> Input:
    if word == "0":
        return None
    if word.startswith("$"):
        name = word[1:]
        return variables[name] if name in variables else External(word)
    return External(word)


def _close(frames: list[_Frame], timelines: dict[Node | None, list[Step]], index: int) -> None:
    inner = frames.pop()
    assert inner.group is not None
    timelines[inner.group] = inner.steps
    outer = frames[-1]
    outer.stack.append(inner.group)
    outer.steps.append(
        Step(inner.first, index, inner.before, inner.low, len(outer.stack), inner.group)
    )
