"""`genvfx insert`, `audit`, `generate --script` and `farm`, on real tiny takes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import genvfx_command, openjd_run_all
from nk_helpers import check_insertion

from genvfx.cli.main import main
from genvfx.media.exr import read_attributes, write_exr
from genvfx.scripts.colour import ScriptColour
from genvfx.scripts.insert import colour_knobs, load_take
from genvfx.scripts.nk import Script
from genvfx.scripts.nk.edit import Inserted
from genvfx.scripts.script_job import script_job_fields

HOSTILE = '[exec rm -rf ~] $env(HOME) "}{'
TINY = ["--model", "builtin:tiny-ltx", "--format", "64x64", "--steps", "2", "--seed", "11"]


def comp_script(
    plate: Path, other: Path, ocio: bool = False, other_range: tuple[int, int] = (1, 2)
) -> bytes:
    colour = (
        " colorManagement OCIO\n OCIO_config fn-nuke_cg-config-v1.0.0_aces-v1.3_ocio-v2.1\n"
        ' workingSpaceLUT "ACEScg"\n'
        if ocio
        else " colorManagement Nuke\n workingSpaceLUT linear\n"
    )
    return (
        "#! /usr/local/Nuke15.0v4/libnuke-15.0.4.so -nx\n"
        "version 15.0 v4\n"
        "Root {\n inputs 0\n first_frame 1001\n last_frame 1003\n fps 24\n"
        ' format "64 64 0 0 64 64 1 tiny"\n' + colour + "}\n"
        f"Read {{\n inputs 0\n file {plate}\n"
        ' format "64 64 0 0 64 64 1 tiny"\n first 1001\n last 1003\n name Plate\n'
        " xpos 0\n ypos -200\n}\n"
        "Grade {\n name Grade1\n}\n"
        "Group {\n name Pack\n}\n"
        " Input {\n  inputs 0\n  name Input1\n }\n"
        f" Read {{\n  inputs 0\n  file {other}\n  first {other_range[0]}\n"
        f"  last {other_range[1]}\n  name Ordinary\n }}\n"
        " Merge2 {\n  inputs 2\n  name Inner\n }\n"
        " Output {\n  name Output1\n }\n"
        "end_group\n"
        "Viewer {\n name Viewer1\n}\n"
    ).encode()


@pytest.fixture(scope="module")
def shot(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A generated take (hostile prompt), an ordinary plate, and a script reading both."""
    base = tmp_path_factory.mktemp("shot")
    plain = base / "plain"
    plain.mkdir()
    for frame in (1, 2):
        write_exr(plain / f"bg.{frame:04d}.exr", np.full((8, 8, 4), 0.5, np.float32))
    code = main(
        [
            "generate",
            "--prompt",
            HOSTILE,
            "--frames",
            "1001-1003",
            "--out",
            str(base / "takes"),
            "--name",
            "fx",
            *TINY,
        ]
    )
    assert code == 0
    take = base / "takes" / "fx" / "v001"
    script = base / "comp.nk"
    script.write_bytes(comp_script(take / "fx_v001.####.exr", plain / "bg.####.exr"))
    return {"base": base, "take": take, "script": script, "plain": plain}


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*genvfx_command(), *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_insert_writes_a_new_script_and_never_overwrites(shot: dict[str, Path]) -> None:
    base, take = shot["base"], shot["take"]
    plate = base / "plate_comp.nk"
    plate.write_bytes(comp_script(base / "plates" / "p.####.exr", shot["plain"] / "bg.####.exr"))
    out = base / "inserted.nk"
    assert (
        main(["insert", str(plate), "--node", "Plate", "--take", str(take), "--out", str(out)]) == 0
    )
    before = Script.read(plate)
    after = check_insertion(before, before.find("Plate"), _inserted(before, out))
    read = after.find("genvfx_fx_v001")
    assert read.knob("file") == str(take / "fx_v001.####.exr")
    assert (read.knob("first"), read.knob("last")) == ("1001", "1003")
    assert read.knob("raw") == "true"
    assert read.knob("format") == "64 64 0 0 64 64 1 "
    assert read.knob("genvfx_prompt") == HOSTILE
    assert read.knob("genvfx_take") == str(take)
    merge = after.find("genvfx_merge_fx_v001")
    assert merge.inputs == [after.find("Plate"), read]
    assert after.find("Grade1").inputs == [merge]

    written = out.read_bytes()
    again = run_cli("insert", str(plate), "--node", "Plate", "--take", str(take), "--out", str(out))
    assert again.returncode == 2 and "out" in again.stderr
    assert out.read_bytes() == written


def _inserted(before: Script, out: Path) -> Inserted:
    return Inserted(out.read_bytes(), "genvfx_fx_v001", "genvfx_merge_fx_v001")


def test_insert_in_place_keeps_a_backup_and_refuses_bad_input(shot: dict[str, Path]) -> None:
    base, take = shot["base"], shot["take"]
    script = base / "inplace.nk"
    original = comp_script(base / "p.####.exr", shot["plain"] / "bg.####.exr")
    script.write_bytes(original)
    assert (
        main(["insert", str(script), "--node", "Pack.Ordinary", "--take", str(take), "--in-place"])
        == 0
    )
    assert (base / "inplace.genvfx-backup-1.nk").read_bytes() == original
    edited = Script.read(script)
    merge = edited.find("Pack.genvfx_merge_fx_v001")
    assert edited.find("Pack.Inner").inputs[0] is merge
    assert b"\n Read {\n  inputs 0\n  file_type exr\n" in script.read_bytes()  # group indent

    current = script.read_bytes()
    missing_take = run_cli(
        "insert", str(script), "--node", "Plate", "--take", str(base), "--in-place"
    )
    assert missing_take.returncode == 2 and "take" in missing_take.stderr
    bad_node = run_cli("insert", str(script), "--node", "Nope", "--take", str(take), "--in-place")
    assert bad_node.returncode == 2 and "node" in bad_node.stderr
    no_script = run_cli(
        "insert", str(base / "none.nk"), "--node", "Plate", "--take", str(take), "--in-place"
    )
    assert no_script.returncode == 2 and "script" in no_script.stderr
    assert script.read_bytes() == current
    assert not (base / "inplace.genvfx-backup-2.nk").exists()


def test_read_colour_follows_the_script_working_space(shot: dict[str, Path]) -> None:
    take = load_take(shot["take"])
    assert colour_knobs(take, ScriptColour(False, None, "lin_rec709")) == (("raw", "true"),)
    same = ScriptColour(True, "ocio://default", "lin_rec709")
    assert colour_knobs(take, same) == (("raw", "true"),)
    aces = ScriptColour(True, "ocio://default", "ACEScg")
    assert colour_knobs(take, aces) == (("colorspace", '"Linear Rec.709 (sRGB)"'),)


def test_audit_lists_generated_reads_only(shot: dict[str, Path]) -> None:
    base = shot["base"]
    result = run_cli("audit", str(shot["script"]), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["reads_checked"] == 2
    [found] = report["generated"]
    assert found["node"] == "Plate"
    assert found["prompt"] == HOSTILE and found["seed"] == 11
    assert found["model"] == "builtin:tiny-ltx" and found["weights_hash"].startswith("sha256:")
    assert found["take"] == "fx/v001" and (found["first"], found["last"]) == (1001, 1003)
    assert found["all_frames_exist"] is True and found["frames_generated"] == 3

    blocked = run_cli("audit", str(shot["script"]), "--fail-if-any")
    assert blocked.returncode == 3 and "Plate" in blocked.stdout

    partial = base / "partial_takes" / "fx" / "v001"
    shutil.copytree(shot["take"], partial)
    (partial / "fx_v001.1002.exr").unlink()
    clean = base / "clean.nk"
    clean.write_bytes(comp_script(base / "no_such" / "p.####.exr", shot["plain"] / "bg.####.exr"))
    assert run_cli("audit", str(clean), "--fail-if-any").returncode == 0
    gap = base / "gap.nk"
    gap.write_bytes(comp_script(partial / "fx_v001.####.exr", shot["plain"] / "bg.####.exr"))
    gap_report = json.loads(run_cli("audit", str(gap), "--json").stdout)
    assert gap_report["generated"][0]["all_frames_exist"] is False
    assert gap_report["generated"][0]["frames_found"] == 2

    nested = base / "nested.nk"
    nested.write_bytes(
        comp_script(
            shot["plain"] / "bg.####.exr",
            shot["take"] / "fx_v001.####.exr",
            other_range=(1001, 1003),
        )
    )
    [inner] = json.loads(run_cli("audit", str(nested), "--json").stdout)["generated"]
    assert inner["node"] == "Pack.Ordinary" and inner["all_frames_exist"] is True

    missing = run_cli("audit", str(base / "none.nk"))
    assert missing.returncode == 2 and "script" in missing.stderr


def test_generate_from_a_script_read_and_insert(shot: dict[str, Path]) -> None:
    base = shot["base"]
    script = base / "ocio.nk"
    script.write_bytes(
        comp_script(base / "plates" / "p.####.exr", shot["plain"] / "bg.####.exr", ocio=True)
    )
    (base / "plates").mkdir(exist_ok=True)
    for frame in (1001, 1002):  # --print-job checks that the plate's frames exist
        write_exr(base / "plates" / f"p.{frame}.exr", np.full((64, 64, 4), 0.5, np.float32))
    printed = run_cli(
        "generate",
        "--script",
        str(script),
        "--node",
        "Plate",
        "--prompt",
        "x",
        "--model",
        "builtin:tiny-ltx",
        "--frames",
        "1001-1002",
        "--print-job",
    )
    assert printed.returncode == 0, printed.stderr
    job = json.loads(printed.stdout)
    assert job["plate"] == str(base / "plates" / "p.####.exr") and job["mode"] == "v2v"
    assert job["frames"] == {"first": 1001, "last": 1002}  # the flag wins over the Read
    assert job["format"] == {"width": 64, "height": 64} and job["fps"] == 24.0
    assert job["ocio_config"] == "ocio://cg-config-v1.0.0_aces-v1.3_ocio-v2.1"
    assert job["working_space"] == "ACEScg"
    no_node = run_cli(
        "generate",
        "--script",
        str(script),
        "--prompt",
        "x",
        "--model",
        "builtin:tiny-ltx",
        "--print-job",
    )
    assert no_node.returncode == 2 and "node" in no_node.stderr

    original = script.read_bytes()
    code = main(
        [
            "generate",
            "--script",
            str(script),
            "--node",
            "Plate",
            "--mode",
            "t2v",
            "--prompt",
            "dust",
            "--out",
            str(base / "st"),
            "--name",
            "dust",
            "--insert",
            *TINY,
        ]
    )
    assert code == 0
    take = base / "st" / "dust" / "v001"
    assert sorted(p.name for p in take.glob("*.exr")) == [
        "dust_v001.1001.exr",
        "dust_v001.1002.exr",
        "dust_v001.1003.exr",
    ]
    attrs = read_attributes(take / "dust_v001.1001.exr")
    assert attrs["genvfx/working_space"] == "ACEScg"
    assert (base / "ocio.genvfx-backup-1.nk").read_bytes() == original
    edited = Script.read(script)
    read = edited.find("genvfx_dust_v001")
    assert read.knob("raw") == "true"  # written in the script's own working space
    assert edited.find("genvfx_merge_dust_v001").inputs[0] is edited.find("Plate")


def test_farm_template_runs_with_openjd(shot: dict[str, Path]) -> None:
    base = shot["base"]
    job_file = base / "farm_job.json"
    printed = run_cli(
        "generate",
        "--prompt",
        "smoke",
        "--frames",
        "1001-1003",
        "--out",
        str(base / "farm"),
        "--name",
        "smoke",
        "--window",
        "1",
        *TINY,
        "--print-job",
    )
    job_file.write_text(printed.stdout)
    template = base / "farm.yaml"
    genvfx = " ".join(genvfx_command())
    assert (
        main(["farm", str(job_file), "--chunk", "2", "--out", str(template), "--genvfx", genvfx])
        == 0
    )
    take = base / "farm" / "smoke" / "v001"
    manifest = json.loads((take / "manifest.json").read_text())
    assert manifest["complete"] is False and manifest["status"] == "queued"
    document = yaml.safe_load(template.read_text())
    windows = document["steps"][0]["parameterSpace"]["taskParameterDefinitions"][0]["range"]
    assert windows == ["1001-1002", "1003-1003"]
    again = run_cli("farm", str(job_file), "--chunk", "2", "--out", str(template))
    assert again.returncode == 2 and "out" in again.stderr
    zero = run_cli("farm", str(job_file), "--chunk", "0", "--out", str(base / "zero.yaml"))
    assert zero.returncode == 2 and "chunk" in zero.stderr
    assert sorted(p.name for p in take.parent.iterdir()) == ["v001"]

    openjd = Path(sys.executable).parent / "openjd"
    assert subprocess.run([str(openjd), "check", str(template)], check=False).returncode == 0
    ran = openjd_run_all(template)
    assert ran.returncode == 0, ran.stdout[-3000:]
    manifest = json.loads((take / "manifest.json").read_text())
    assert manifest["complete"] is True
    assert [f["frame"] for f in manifest["frames"]] == [1001, 1002, 1003]
    frames = sorted(take.glob("*.exr"))
    assert len(frames) == 3 and not list(take.glob(".*partial*"))
    assert read_attributes(frames[0])["genvfx/prompt"] == "smoke"
    windows_recorded = manifest["generated"]["windows"]
    frames_made = (1001, 1002, 1003)
    assert [(w["first"], w["last"]) for w in windows_recorded] == [(f, f) for f in frames_made]
    seed = manifest["job"]["seed"]
    assert [w["seed"] for w in windows_recorded] == [seed, seed + 1, seed + 2]
    for entry, frame_path in zip(manifest["frames"], frames, strict=True):
        header = read_attributes(frame_path)
        assert header["genvfx/frame_index"] == entry["index"] == entry["frame"] - 1001
        assert header["genvfx/job_hash"] == manifest["job_hash"]
        window = next(w for w in windows_recorded if w["first"] <= entry["frame"] <= w["last"])
        assert header["genvfx/window_seed"] == window["seed"]
    assert manifest["schema"] == 1

    stamps = {p: p.stat().st_mtime_ns for p in frames}
    rerun = main(
        [
            "generate",
            "--job",
            str(take / "job.json"),
            "--frames",
            "1001-1002",
            "--take-dir",
            str(take),
        ]
    )
    assert rerun == 0
    assert {p: p.stat().st_mtime_ns for p in frames} == stamps

    broken = base / "farm_broken" / "smoke" / "v001"
    shutil.copytree(take, broken)
    data = json.loads((broken / "manifest.json").read_text())
    (broken / "manifest.json").write_text(json.dumps({**data, "complete": False}))
    (broken / "smoke_v001.1003.exr").unlink()
    failed = run_cli("farm-complete", str(broken))
    assert failed.returncode == 1 and "1003" in failed.stderr
    assert json.loads((broken / "manifest.json").read_text())["complete"] is False
    outside = run_cli(
        "generate", "--job", str(take / "job.json"), "--frames", "990-1001", "--take-dir", str(take)
    )
    assert outside.returncode == 2 and "frames" in outside.stderr
    straddling = run_cli(
        "generate",
        "--job",
        str(take / "job.json"),
        "--frames",
        "1002-1003",
        "--take-dir",
        str(take),
    )
    assert straddling.returncode == 2 and "chunk" in straddling.stderr
    other_job = run_cli(
        "generate",
        "--job",
        str(take / "job.json"),
        "--prompt",
        "fire",
        "--frames",
        "1003-1003",
        "--take-dir",
        str(take),
    )
    assert other_job.returncode == 2 and "take-dir" in other_job.stderr


@pytest.mark.parametrize(
    ("ocio", "colorspace", "expected"),
    [
        (True, None, None),
        (True, '"default (ACES2065-1)"', "ACES2065-1"),
        (True, "ACEScg", "ACEScg"),
        (False, "linear", None),
    ],
)
def test_plate_space_comes_from_the_read_in_an_ocio_script(
    tmp_path: Path, ocio: bool, colorspace: str | None, expected: str | None
) -> None:
    text = comp_script(tmp_path / "plate.####.exr", tmp_path / "other.####.exr", ocio=ocio)
    if colorspace is not None:
        text = text.replace(b" name Plate\n", f" colorspace {colorspace}\n name Plate\n".encode())
    script = tmp_path / "comp.nk"
    script.write_bytes(text)
    fields = script_job_fields(script, "Plate", None)
    assert fields.get("plate_space") == expected
    assert "plate_space" not in script_job_fields(script, "Plate", "t2v")
