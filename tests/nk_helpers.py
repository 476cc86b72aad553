"""Checks shared by the script tests: an insertion only adds lines and rewires only consumers."""

from __future__ import annotations

import difflib

from genvfx.scripts.nk import External, Node, Script
from genvfx.scripts.nk.edit import Inserted

Label = int | str | None


def _label(value: object, index: dict[int, Label]) -> Label:
    if value is None:
        return None
    if isinstance(value, External):
        return value.label
    return index[id(value)]


def check_insertion(before: Script, target: Node, result: Inserted) -> Script:
    """Assert the edit added lines only and every original input is unchanged or the merge."""
    old_lines = before.data.splitlines()
    new_lines = result.data.splitlines()
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    changes = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    assert changes and all(op[0] == "insert" for op in changes), changes
    added = sum(j2 - j1 for _, _, _, j1, j2 in changes)
    assert added == len(new_lines) - len(old_lines)

    after = Script.parse(result.data)
    scope = target.parent.full_name if target.parent else None

    def is_new(node: Node) -> bool:
        here = node.parent.full_name if node.parent else None
        return here == scope and node.name in (result.source_name, result.merge_name)

    new_nodes = [n for n in after.nodes() if is_new(n)]
    assert [n.cls for n in new_nodes] == ["Read", "Merge2"] or [n.cls for n in new_nodes] == [
        "Merge2",
        "Read",
    ]
    source = next(n for n in new_nodes if n.cls == "Read")
    merge = next(n for n in new_nodes if n.cls == "Merge2")
    kept = [n for n in after.nodes() if not is_new(n)]
    old_nodes = before.nodes()
    assert [n.cls for n in kept] == [n.cls for n in old_nodes]

    old_index: dict[int, Label] = {id(n): i for i, n in enumerate(old_nodes)}
    new_index: dict[int, Label] = {id(n): i for i, n in enumerate(kept)}
    new_index[id(merge)] = "merge"
    new_index[id(source)] = "source"
    target_label = old_index[id(target)]
    for old, new in zip(old_nodes, kept, strict=True):
        was = [_label(i, old_index) for i in old.inputs]
        now = [_label(i, new_index) for i in new.inputs]
        rewired = ["merge" if label == target_label else label for label in was]
        assert now in (rewired, was), (old.full_name, was, now)
        if now == was and target_label in was:
            assert target.clone_ref is None and _named_for_clones(before, target), old.full_name
    # B (input 0) is the plate, A (input 1) the new Read.
    assert [_label(i, new_index) for i in merge.inputs] == [target_label, "source"]
    assert source.inputs == []
    return after


def _named_for_clones(script: Script, target: Node) -> bool:
    return any(n.clone_source is target for n in script.nodes())
