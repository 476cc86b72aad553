"""GenerateElement.gizmo is valid script text and holds every knob the Python code reads."""

from __future__ import annotations

import ast
import contextlib
import re
from pathlib import Path

import pytest

from tests.fake_nuke import nk_text

REPO = Path(__file__).resolve().parents[1]
GIZMO = REPO / "gizmos" / "GenerateElement.gizmo"
NODE_PY = REPO / "nuke_plugin" / "genvfx_nuke" / "node.py"


def node_module() -> tuple[dict[str, object], set[str]]:
    """node.py's constants and function names, read without importing it (it imports nuke)."""
    tree = ast.parse(NODE_PY.read_text())
    constants: dict[str, object] = {}
    functions = set()
    for item in tree.body:
        if isinstance(item, ast.Assign) and isinstance(item.targets[0], ast.Name):
            with contextlib.suppress(ValueError):
                constants[item.targets[0].id] = ast.literal_eval(item.value)
        elif isinstance(item, ast.FunctionDef):
            functions.add(item.name)
    return constants, functions


def gizmo_knob_reads() -> set[str]:
    """Knob names node.py reads from the gizmo: `node["name"]` (the gizmo is always `node`).

    The non-literal reads, `node[knob]`, run over VALUE_KNOBS and UNSAVED_PULLDOWNS (checked
    too) or name one of the literal ones.
    """
    names = set()
    for item in ast.walk(ast.parse(NODE_PY.read_text())):
        if (
            isinstance(item, ast.Subscript)
            and isinstance(item.value, ast.Name)
            and item.value.id == "node"
        ):
            if isinstance(item.slice, ast.Constant):
                names.add(str(item.slice.value))
            else:
                assert ast.unparse(item.slice) == "knob", f"line {item.lineno}: unchecked knob name"
    return names


@pytest.fixture(scope="module")
def gizmo() -> nk_text.NkNode:
    nodes = nk_text.parse_script(GIZMO.read_text(encoding="utf-8"))
    assert len(nodes) == 1 and nodes[0].cls == "Gizmo"
    return nodes[0]


def knob_names(gizmo: nk_text.NkNode) -> set[str]:
    return {k.name for k in gizmo.user_knobs if k.name} | set(gizmo.knobs)


@pytest.mark.parametrize(
    "text, problem",
    [
        ("Gizmo {\n name x\n", "never closed"),
        ("Gizmo {\n}\n}\n", "closes nothing"),
        ('Gizmo {\n label "a\n}\nend_group\n', "never closed"),
        ('Gizmo {\n label "run [exec rm]"\n}\nend_group\n', "evaluated by TCL"),
        ("Gizmo {\n}\n", "never closed with end_group"),
        ("Gizmo {\n}\npush $Nmissing\nend_group\n", "unknown"),
    ],
)
def test_the_checker_refuses_broken_text(text: str, problem: str) -> None:
    with pytest.raises(nk_text.NkSyntaxError, match=re.escape(problem)):
        nk_text.parse_script(text)


def test_gizmo_has_the_inputs_and_internal_nodes(gizmo: nk_text.NkNode) -> None:
    by_name = {c.name: c for c in gizmo.children}
    inputs = {c.name: c.knobs.get("number") for c in gizmo.children if c.cls == "Input"}
    assert set(inputs) == {"plate", "mask"}
    assert inputs["plate"] is None and inputs["mask"] is not None and inputs["mask"].text == "1"
    for write in ("plate_write", "mask_write"):
        node = by_name[write]
        assert node.cls == "Write" and node.knobs["disable"].text == "true"
        assert node.knobs["raw"].text == "true" and node.knobs["file_type"].text == "exr"
    assert by_name["plate_write"].inputs[0] is by_name["plate"]
    mask_alpha = by_name["mask_write"].inputs[0]
    assert mask_alpha.cls == "Expression" and mask_alpha.inputs[0] is by_name["mask"]
    assert mask_alpha.knobs["expr3"].text == "max(a, r)", "an RGB-only matte keeps its matte"
    read = by_name["take_read"]
    assert read.knobs["file"].text == "[value parent.take_file]"
    assert read.knobs["first"].text == "{parent.take_first}"
    assert read.knobs["last"].text == "{parent.take_last}"
    assert read.knobs["raw"].text == "true" and read.knobs["on_error"].text == "error"
    assert read.knobs["disable"].text == "{!parent.has_take}", "an empty Read never errors"
    merge = by_name["preview_merge"]
    assert merge.inputs == [by_name["plate"], read]  # B = plate, A = take
    switch = by_name["output_switch"]
    assert switch.inputs == [read, merge, by_name["plate"]]
    assert "parent.preview_over_plate" in switch.knobs["which"].text
    assert "parent.has_take" in switch.knobs["which"].text
    output = next(c for c in gizmo.children if c.cls == "Output")
    assert output.inputs == [switch]


def test_every_knob_the_python_reads_exists(gizmo: nk_text.NkNode) -> None:
    names = knob_names(gizmo)
    constants, _ = node_module()
    read = gizmo_knob_reads() | set(constants["VALUE_KNOBS"])  # type: ignore[call-overload]
    read |= set(constants["UNSAVED_PULLDOWNS"])  # type: ignore[call-overload]
    assert len(read) > 15, f"found too few knob reads in node.py: {read}"
    missing = sorted(read - names)
    assert not missing, f"node.py reads knobs the gizmo lacks: {missing}"
    writes = {c.name: c for c in gizmo.children if c.cls == "Write"}
    assert {constants["PLATE_WRITE"], constants["MASK_WRITE"]} <= set(writes)


def test_expected_user_knobs(gizmo: nk_text.NkNode) -> None:
    kinds = {k.name: k.type_id for k in gizmo.user_knobs if k.name}
    assert kinds == {
        "genvfx": 20,
        "prompt": 1,
        "negative_prompt": 1,
        "model": 1,
        "model_list": 4,
        "list_models": 22,
        "mode": 4,
        "frames": 1,
        "seed": 3,
        "randomise_seed": 22,
        "steps": 3,
        "guidance": 7,
        "strength": 7,
        "matte": 4,
        "output_root": 2,
        "region": 1,
        "condition_frame": 1,
        "window": 1,
        "overlap": 1,
        "cpu_offload": 6,
        "vae_tiling": 6,
        "draft": 6,
        "element": 1,
        "generate": 22,
        "cancel": 22,
        "submit_farm": 22,
        "chunk": 3,
        "status": 26,
        "take": 4,
        "refresh_takes": 22,
        "bake": 22,
        "open_folder": 22,
        "check_install": 22,
        "preview_over_plate": 6,
        "take_file": 1,
        "take_first": 3,
        "take_last": 3,
        "take_version": 1,
        "has_take": 6,
    }
    hidden = {k.name for k in gizmo.user_knobs if "+INVISIBLE" in k.flags}
    assert hidden == {"take_file", "take_first", "take_last", "take_version", "has_take"}
    runtime = {k.name for k in gizmo.user_knobs if k.type_id == 4 and not k.items}
    assert runtime == set(node_module()[0]["UNSAVED_PULLDOWNS"]), "filled at run time, unsaved"
    mode = next(k for k in gizmo.user_knobs if k.name == "mode")
    assert mode.items == ["t2v", "i2v", "v2v", "inpaint"]


def test_knob_scripts_call_functions_that_exist(gizmo: nk_text.NkNode) -> None:
    scripts = [gizmo.knobs["onCreate"].text, gizmo.knobs["knobChanged"].text]
    scripts += [k.target or "" for k in gizmo.user_knobs if k.type_id == 22]
    called = set()
    for script in scripts:
        tree = ast.parse(script, feature_version=(3, 9))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                base = node.func.value
                if (isinstance(base, ast.Name) and base.id == "genvfx_node") or (
                    isinstance(base, ast.Attribute) and base.attr == "node"
                ):
                    called.add(node.func.attr)
    assert called == {
        "on_create",
        "knob_changed",
        "on_randomise_seed",
        "on_generate",
        "on_submit_farm",
        "on_cancel",
        "on_open_folder",
        "on_bake",
        "on_list_models",
        "on_check_install",
    }
    assert called <= node_module()[1]


def test_the_project_nk_reader_agrees(gizmo: nk_text.NkNode) -> None:
    """genvfx.scripts.nk reads the gizmo the same way: same nodes, same connections, same knob values."""
    from genvfx.scripts.nk import Script

    data = GIZMO.read_bytes()
    script = Script.parse(data)
    assert script.to_bytes() == data
    (top,) = list(script.top_level())
    assert top.cls == "Gizmo" and top.is_group
    ours = {c.name: c for c in gizmo.children}
    theirs = {n.name: n for n in top.children}
    assert set(ours) == set(theirs)
    for name, node in theirs.items():
        expected = [i.name if i is not None else None for i in ours[name].inputs]
        assert [getattr(i, "name", None) for i in node.inputs] == expected, name
    read = theirs["take_read"]
    assert read.knob("file") == "[value parent.take_file]"
    assert read.knob("raw") == "true"
