"""The .nk reader and editor: byte-exact round trips, knob values, stack inputs, insertion."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nk_helpers import check_insertion

from genvfx.errors import InvalidField
from genvfx.scripts.nk import External, Script, quote
from genvfx.scripts.nk.edit import NewNode, insert_over

SOURCE = NewNode("Read", (("file", quote("/takes/fx/v001/fx_v001.####.exr")),), "genvfx_fx")
MERGE = NewNode("Merge2", (), "genvfx_merge")

COMP = b"""#! /usr/local/Nuke14.0v5/libnuke-14.0.5.so -nx
version 14.0 v5
Root {
 inputs 0
 name /shots/a/comp.nk
 first_frame 1001
 last_frame 1010
 format "1920 1080 0 0 1920 1080 1 HD_1080"
}
Read {
 inputs 0
 file /plates/a/plate.####.exr
 first 1001
 last 1010
 name Plate
 xpos 0
 ypos -200
}
set N1 [stack 0]
Grade {
 white 1.2
 name Grade1
 xpos 0
 ypos -100
}
set C2 [stack 0]
push $N1
Blur {
 size 3
 name Blur1
 xpos 150
 ypos -100
}
Read {
 inputs 0
 file "/plates/a/\\[matte\\].####.exr"
 name Matte
}
Merge2 {
 inputs 2+1
 name Merge1
}
push 0
Switch {
 inputs 2
 name Switch1
}
clone $C2 {
 xpos 300
}
Group {
 name Wrap
}
 Input {
  inputs 0
  name Input1
 }
 Read {
  inputs 0
  file "/plates/inner.####.exr"
  name InnerRead
 }
 Merge2 {
  inputs 2
  name InnerMerge
 }
 Output {
  name Output1
 }
end_group
Viewer {
 name Viewer1
}
"""

FRAGMENT = b"""set cut_paste_input [stack 0]
version 13.2 v4
push $cut_paste_input
Blur {
 name Blur9
 label "a \\{brace\\} and \\"quotes\\""
 note {literal [not evaluated] {nested}}
}
Read {
 inputs 0
 file frag.####.exr
 name FragRead
}
Merge2 {
 inputs 2
 name FragMerge
}
NoOp {
 name Tricky
 python {
push 0
end_group
}
 tcl "first
}
push 0"
 addUserKnob {26 ""}
}
clone node18e3d27400|Blur|13140 Blur {
 size 4
 name ClipClone
}
push $Nnever_set
Dot {
 name Dot1
}"""


def by_name(script: Script) -> dict[str, Script | object]:
    return {n.full_name: n for n in script.nodes()}


def corpus_files(shared: Path) -> list[Path]:
    return sorted((shared / "corpus" / "nk").glob("*.nk"))


def test_corpus_round_trips_byte_for_byte(shared_dir: Path) -> None:
    files = corpus_files(shared_dir)
    assert len(files) >= 10
    for path in files:
        data = path.read_bytes()
        script = Script.parse(data)
        assert script.to_bytes() == data, path.name
        assert script.nodes(), path.name


@pytest.mark.parametrize(
    "variant",
    ["lf", "crlf", "tabs", "no-final-newline", "latin1", "fragment"],
)
def test_own_fixtures_round_trip(variant: str) -> None:
    data = FRAGMENT if variant == "fragment" else COMP
    if variant == "crlf":
        data = data.replace(b"\n", b"\r\n")
    elif variant == "tabs":
        data = data.replace(b"\n ", b"\n\t")
    elif variant == "no-final-newline":
        data = data.rstrip(b"\n")
    elif variant == "latin1":
        data = data.replace(b"size 3", b'label "caf\xe9 \xff"\n size 3')
    script = Script.parse(data)
    assert script.to_bytes() == data
    names = {n.full_name for n in script.nodes()}
    assert ("Wrap.InnerMerge" in names) or variant == "fragment"
    if variant == "latin1":
        label = script.find("Blur1").knob("label")
        assert label is not None and label.encode("utf-8", "surrogateescape") == b"caf\xe9 \xff"
    if variant in ("crlf", "tabs"):
        assert script.find("Plate").knob("file") == "/plates/a/plate.####.exr"
        assert script.find("Wrap.InnerRead").knob("file") == "/plates/inner.####.exr"


def test_long_line_is_read_in_linear_time() -> None:
    body = b"x" * 2_000_000
    data = b'Group {\n name Big\n python "' + body + b'"\n script {' + body + b"}\n}\nend_group\n"
    started = time.perf_counter()
    script = Script.parse(data)
    elapsed = time.perf_counter() - started
    assert script.to_bytes() == data
    assert script.find("Big").knob("script") == body.decode()
    assert elapsed < 3.0


def test_knob_values_are_unquoted_and_unescaped() -> None:
    script = Script.parse(FRAGMENT)
    blur = script.find("Blur9")
    assert blur.knob("label") == 'a {brace} and "quotes"'
    assert blur.knob("note") == "literal [not evaluated] {nested}"
    assert Script.parse(COMP).find("Matte").knob("file") == "/plates/a/[matte].####.exr"


def test_inputs_follow_the_stack_rules() -> None:
    script = Script.parse(COMP)
    node = script.find
    assert script.root is not None and script.root.inputs == []
    assert node("Grade1").inputs == [node("Plate")]
    assert node("Blur1").inputs == [node("Plate")]  # push $N1 branches from the plate
    # inputs 2+1: B = top (Matte), A = next (Blur1), mask last (Grade1)
    assert node("Merge1").inputs == [node("Matte"), node("Blur1"), node("Grade1")]
    assert node("Switch1").inputs == [None, node("Merge1")]
    clone = next(n for n in script.nodes() if n.clone_ref == "$C2")
    assert clone.cls == "Grade" and clone.clone_source is node("Grade1")
    assert clone.knob("white") == "1.2" and clone.knob("xpos") == "300"
    assert clone.inputs == [node("Switch1")]
    assert node("Wrap").inputs == [clone]
    assert node("Wrap.InnerMerge").inputs == [node("Wrap.InnerRead"), node("Wrap.Input1")]
    assert node("Viewer1").inputs == [node("Wrap")]
    assert [n.full_name for n in script.by_class("Read")] == [
        "Plate",
        "Matte",
        "Wrap.InnerRead",
    ]


def test_fragment_inputs_come_from_the_selection() -> None:
    script = Script.parse(FRAGMENT)
    assert script.find("Blur9").inputs == [External("$cut_paste_input")]
    assert script.find("FragMerge").inputs == [script.find("FragRead"), script.find("Blur9")]
    assert script.find("Dot1").inputs == [External("$Nnever_set")]
    tricky = script.find("Tricky")
    assert tricky.inputs == [script.find("FragMerge")]
    assert tricky.knob("python") == "\npush 0\nend_group\n"
    assert tricky.knob("tcl") == "first\n}\npush 0"
    clip = script.find("ClipClone")
    assert clip.cls == "Blur" and clip.inputs == [tricky] and clip.knob("size") == "4"


def test_find_reports_what_exists() -> None:
    script = Script.parse(COMP)
    with pytest.raises(InvalidField) as err:
        script.find("NoSuchNode")
    assert "Plate" in str(err.value)


@pytest.mark.parametrize("variant", ["lf", "crlf", "no-final-newline"])
def test_insert_over_every_node_of_own_fixture(variant: str) -> None:
    data = COMP.replace(b"\n", b"\r\n") if variant == "crlf" else COMP
    if variant == "no-final-newline":
        data = data.rstrip(b"\n")
    script = Script.parse(data)
    for target in script.nodes():
        if target.cls == "Root":
            continue
        if any(isinstance(i, External) for i in target.inputs):
            with pytest.raises(InvalidField):
                insert_over(script, target, SOURCE, MERGE)
            continue
        result = insert_over(script, target, SOURCE, MERGE)
        after = check_insertion(script, target, result)
        if variant == "crlf":
            assert result.data.count(b"\n") == result.data.count(b"\r\n")
        assert after.to_bytes() == result.data


def test_insert_over_each_corpus_read(shared_dir: Path) -> None:
    checked = 0
    for path in corpus_files(shared_dir):
        script = Script.parse(path.read_bytes())
        for read in script.by_class("Read"):
            check_insertion(script, read, insert_over(script, read, SOURCE, MERGE))
            checked += 1
    assert checked >= 5


def test_insert_over_other_corpus_nodes_with_clones_and_groups(shared_dir: Path) -> None:
    names = ("LUTApply", "nested_group", "multi-load-save", "Distort")
    for path in corpus_files(shared_dir):
        if not any(n in path.name for n in names):
            continue
        script = Script.parse(path.read_bytes())
        for target in script.nodes()[::3]:
            if target.cls == "Root":
                continue
            try:
                result = insert_over(script, target, SOURCE, MERGE)
            except InvalidField:
                assert any(isinstance(i, External) for i in target.inputs)
                continue
            check_insertion(script, target, result)


def test_insert_into_a_fragment() -> None:
    script = Script.parse(FRAGMENT)
    for name in ("Blur9", "FragRead", "FragMerge", "Tricky", "ClipClone", "Dot1"):
        check_insertion(
            script, script.find(name), insert_over(script, script.find(name), SOURCE, MERGE)
        )
    lone = Script.parse(b"Blur {\n name Lone\n}\n")
    with pytest.raises(InvalidField, match="node"):
        insert_over(lone, lone.find("Lone"), SOURCE, MERGE)


HOSTILE = '[exec rm -rf ~] $env(HOME) "}{'


def test_hostile_text_round_trips_as_text() -> None:
    knobs = (("genvfx_prompt", quote(HOSTILE)),)
    script = Script.parse(COMP)
    result = insert_over(script, script.find("Plate"), NewNode("Read", knobs, "t"), MERGE)
    after = Script.parse(result.data)
    assert after.find("t").knob("genvfx_prompt") == HOSTILE
    written = quote(HOSTILE)
    assert "[" not in written.replace("\\[", "") and "$" not in written.replace("\\$", "")


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_quote_round_trips_any_text(text: str) -> None:
    data = f"Read {{\n inputs 0\n label {quote(text)}\n name R\n}}\n".encode(
        "utf-8", "surrogatepass"
    )
    script = Script.parse(data)
    assert script.find("R").knob("label") == text
    assert script.to_bytes() == data


def test_gizmo_file_without_header() -> None:
    data = (
        b"Gizmo {\n inputs 2\n addUserKnob {20 User}\n}\n"
        b" Input {\n  inputs 0\n  name fg\n }\n"
        b" Input {\n  inputs 0\n  name bg\n  number 1\n }\n"
        b" Merge2 {\n  inputs 2\n  name Over\n }\n"
        b" Output {\n  name Output1\n }\n"
        b"end_group\n"
    )
    script = Script.parse(data)
    assert script.to_bytes() == data
    over = script.find("<Gizmo>.Over")
    assert over.inputs == [script.find("<Gizmo>.bg"), script.find("<Gizmo>.fg")]
    assert script.nodes()[0].inputs == [External("nothing"), External("nothing")]
