"""`genvfx insert` reads a take's manifest as hostile input: it can never add its own lines."""

from __future__ import annotations

import copy
import json
import subprocess
from typing import Any

import pytest
from conftest import genvfx_command, tiny_take
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from nk_helpers import check_insertion

from genvfx.errors import InvalidField
from genvfx.scripts.colour import ScriptColour
from genvfx.scripts.insert import colour_knobs, insert_take, load_take
from genvfx.scripts.nk import Script

SCRIPT = (
    "#! /usr/local/Nuke15.0v4/libnuke-15.0.4.so -nx\nversion 15.0 v4\n"
    "Root {\n inputs 0\n colorManagement Nuke\n workingSpaceLUT linear\n}\n"
    "Read {\n inputs 0\n file /plates/p.####.exr\n name Plate\n}\n"
    "Grade {\n name Grade1\n}\n"
)
ATTACKS = [
    "x\"\n onCreate \"nuke.createNode('Blur')",
    "x}\nPython {\n}\n{",
    "[exec touch /tmp/pwned]",
    "$env(HOME)",
    "\\\n knobChanged {python -execlocal {import os}}",
    "a\rb\x00c\x7f",
    "{unbalanced",
    "name evil\n addUserKnob {22 go T boom}",
]
TEXT = st.one_of(st.sampled_from(ATTACKS), st.text(max_size=40))
MUTABLE = {
    "take.name": TEXT,
    "take.version": st.one_of(st.sampled_from(["v001", "v1", "v001\n"]), TEXT),
    "pattern": st.one_of(
        st.sampled_from(["/x/fx_v001.####.exr", "fx_v001.####.exr\n onCreate boom"]), TEXT
    ),
    "job.prompt": TEXT,
    "job.seed": st.one_of(st.integers(), TEXT, st.booleans()),
    "model.reference": TEXT,
    "model.weights_hash": TEXT,
    "job_hash": TEXT,
    "colour.working_space": st.one_of(st.just("Linear Rec.709 (sRGB)"), TEXT),
    "generated.resized_to": st.one_of(
        st.fixed_dictionaries({"width": st.integers(), "height": st.integers()}), TEXT
    ),
    "first": st.integers(min_value=-(10**9), max_value=10**9),
}


@pytest.fixture(scope="module")
def take(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("hostile")
    folder = tiny_take(base / "takes", "fx", "dust", frames="1001-1001", steps=1)
    script = base / "comp.nk"
    script.write_text(SCRIPT)
    manifest = json.loads((folder / "manifest.json").read_text())
    return {"folder": folder, "script": script, "manifest": manifest}


def set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for key in parents:
        data = data.setdefault(key, {})
    data[last] = value


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    changes=st.dictionaries(st.sampled_from(sorted(MUTABLE)), st.none(), min_size=1), data=st.data()
)
def test_a_hostile_manifest_cannot_add_a_line(
    take: dict[str, Any], changes: dict[str, None], data: st.DataObject
) -> None:
    manifest = copy.deepcopy(take["manifest"])
    for key in changes:
        set_path(manifest, key, data.draw(MUTABLE[key], label=key))
    (take["folder"] / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    try:
        before = Script.read(take["script"])
        try:
            _, inserted = insert_take(take["script"], "Plate", take["folder"])
        except InvalidField as exc:
            assert exc.exit_code == 2
            event("refused")
            return
        event("inserted")
        after = check_insertion(before, before.find("Plate"), inserted)
        read = after.find(inserted.source_name)
        assert inserted.source_name == "genvfx_fx_v001"
        assert read.knob("file") == str(take["folder"] / "fx_v001.####.exr")
        knobs = {k.name for k in read.knobs}
        assert knobs <= {
            "inputs", "file_type", "file", "format", "first", "last", "origfirst", "origlast",
            "origset", "raw", "colorspace", "label", "addUserKnob", "name", "xpos", "ypos",
            "genvfx_take", "genvfx_prompt", "genvfx_model", "genvfx_weights_hash",
            "genvfx_seed", "genvfx_job_hash", "genvfx_working_space",
        }  # fmt: skip
        assert read.knob("genvfx_prompt") == str(manifest["job"]["prompt"])
        assert read.knob("genvfx_job_hash") == str(manifest["job_hash"])
        assert len(after.nodes()) == len(before.nodes()) + 2
    finally:
        (take["folder"] / "manifest.json").write_text(json.dumps(take["manifest"]))


def test_a_take_in_another_space_is_refused_by_nuke_colour_management(
    take: dict[str, Any],
) -> None:
    info = load_take(take["folder"])
    aces = info.__class__(**{**info.__dict__, "working_space": "ACEScg"})
    with pytest.raises(InvalidField, match="Nuke's own colour management"):
        colour_knobs(aces, ScriptColour(False, None, "lin_rec709"))
    assert colour_knobs(aces, ScriptColour(True, "ocio://default", "lin_rec709")) == (
        ("colorspace", '"ACEScg"'),
    )


def test_insert_refuses_a_manifest_whose_name_adds_lines(take: dict[str, Any]) -> None:
    manifest = copy.deepcopy(take["manifest"])
    manifest["take"]["name"] = "fx\n onCreate \"__import__('os').system('touch /tmp/x')\""
    (take["folder"] / "manifest.json").write_text(json.dumps(manifest))
    before = take["script"].read_bytes()
    out = take["script"].with_name("out.nk")
    target = ["--take", str(take["folder"]), "--out", str(out)]
    try:
        ran = subprocess.run(
            [*genvfx_command(), "insert", str(take["script"]), "--node", "Plate", *target],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        (take["folder"] / "manifest.json").write_text(json.dumps(take["manifest"]))
    assert ran.returncode == 2 and "take.name" in ran.stderr and "Traceback" not in ran.stderr
    assert take["script"].read_bytes() == before and not out.exists()


def test_the_node_never_takes_its_read_file_from_the_manifest(take: dict[str, Any]) -> None:
    from genvfx_nuke import takes

    folder = take["folder"]
    root = str(folder.parent.parent)
    (listed,) = takes.list_takes(root, "fx")
    assert listed.pattern == str(folder / "fx_v001.####.exr")
    for hostile in ("/x/[python {__import__('os').system('touch /tmp/x')}]", "/x/y.####.exr"):
        manifest = {**take["manifest"], "pattern": hostile}
        (folder / "manifest.json").write_text(json.dumps(manifest))
        try:
            assert takes.list_takes(root, "fx") == []
        finally:
            (folder / "manifest.json").write_text(json.dumps(take["manifest"]))
