"""`genvfx audit`: nothing generated slips past it, and the review page a supervisor reads."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
from conftest import genvfx_command, tiny_take

from genvfx.media.exr import read_attributes, read_pixels, write_exr

HOSTILE = '<script>alert(1)</script> [exec rm] "}{'
HEADER = (
    "#! /usr/local/Nuke15.0v4/libnuke-15.0.4.so -nx\nversion 15.0 v4\n"
    "Root {\n inputs 0\n first_frame 1001\n last_frame 1003\n}\n"
)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*genvfx_command(), *args], capture_output=True, text=True, timeout=120, check=False
    )


def read_node(name: str, file: Path, take: Path | None = None) -> str:
    tab = (
        f" addUserKnob {{20 genvfx}}\n addUserKnob {{1 genvfx_take l take +DISABLED}}\n"
        f' genvfx_take "{take}"\n'
        if take is not None
        else ""
    )
    return f"Read {{\n inputs 0\n file {file}\n first 1001\n last 1003\n{tab} name {name}\n}}\n"


@pytest.fixture(scope="module")
def takes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("audit")
    tiny_take(base / "takes", "dust", HOSTILE)
    return {"base": base, "take": base / "takes" / "dust" / "v001"}


def copy_take(takes: dict[str, Path], name: str) -> Path:
    copy = takes["base"] / name / "dust" / "v001"
    shutil.copytree(takes["take"], copy)
    return copy


def test_a_script_holding_only_a_generate_element_fails_the_check(tmp_path: Path) -> None:
    script = tmp_path / "only_node.nk"
    script.write_text(HEADER + 'GenerateElement {\n prompt "smoke"\n name GenerateElement1\n}\n')
    blocked = run_cli("audit", str(script), "--fail-if-any")
    assert blocked.returncode == 3, blocked.stdout + blocked.stderr
    assert "GenerateElement1" in blocked.stdout

    nested = tmp_path / "nested.nk"
    nested.write_text(
        HEADER
        + "Group {\n name Pack\n}\n GenerateElement {\n  name Deep\n }\nend_group\n"
        + "Group {\n addUserKnob {20 genvfx l GenerateElement}\n name Copied\n}\nend_group\n"
        + "MyFx {\n name Wrapped\n}\n"
        + "Blur {\n name Plain\n}\n"
    )
    (tmp_path / "MyFx.gizmo").write_text(
        "Gizmo {\n inputs 0\n}\n GenerateElement {\n  name inner\n }\n Output {\n }\nend_group\n"
    )
    report = json.loads(run_cli("audit", str(nested), "--json").stdout)
    found = [(g["node"], g["kind"]) for g in report["generated"]]
    assert found == [("Pack.Deep", "node"), ("Copied", "node"), ("Wrapped", "node")]

    clean = tmp_path / "clean.nk"
    clean.write_text(HEADER + "Blur {\n name Plain\n}\n")
    assert run_cli("audit", str(clean), "--fail-if-any").returncode == 0


def test_a_read_whose_take_was_deleted_fails_the_check(takes: dict[str, Path]) -> None:
    gone = copy_take(takes, "deleted")
    script = takes["base"] / "deleted.nk"
    script.write_text(HEADER + read_node("Dust", gone / "dust_v001.####.exr", take=gone))
    shutil.rmtree(gone.parent.parent)
    blocked = run_cli("audit", str(script), "--fail-if-any")
    assert blocked.returncode == 3
    [found] = json.loads(run_cli("audit", str(script), "--json").stdout)["generated"]
    assert found["node"] == "Dust" and found["take_status"] == "gone"
    assert any("gone" in p for p in found["problems"])

    # A GenerateElement showing that take reports it gone too.
    node = takes["base"] / "node.nk"
    node.write_text(
        HEADER + f'GenerateElement {{\n take_file "{gone}/dust_v001.####.exr"\n name Gen\n}}\n'
    )
    [shown] = json.loads(run_cli("audit", str(node), "--json").stdout)["generated"]
    assert shown["kind"] == "node" and shown["take_status"] == "gone"

    # The same Read with its file a TCL expression is still caught by its genvfx tab.
    tcl = takes["base"] / "tcl.nk"
    tcl.write_text(HEADER + read_node("Dust", Path("[value root.name]"), take=gone))
    assert run_cli("audit", str(tcl), "--fail-if-any").returncode == 3


def test_incomplete_and_changed_takes_are_reported(takes: dict[str, Path]) -> None:
    queued = copy_take(takes, "queued")
    manifest = json.loads((queued / "manifest.json").read_text())
    manifest.update(complete=False, status="queued")
    (queued / "manifest.json").write_text(json.dumps(manifest))

    changed = copy_take(takes, "changed")
    frame = changed / "dust_v001.1002.exr"
    header = read_attributes(frame)
    pixels = read_pixels(frame)
    frame.unlink()
    write_exr(frame, np.clip(pixels * 0.5, 0, None), attributes=header)

    script = takes["base"] / "states.nk"
    script.write_text(
        HEADER
        + read_node("Queued", queued / "dust_v001.####.exr")
        + read_node("Changed", changed / "dust_v001.####.exr", take=changed)
        + read_node("Fine", takes["take"] / "dust_v001.####.exr", take=takes["take"])
    )
    relative = "[file dirname [value root.name]]/" + str(changed.relative_to(takes["base"]))
    script.write_text(script.read_text() + read_node("Relative", Path(relative) / "x.####.exr"))
    report = json.loads(run_cli("audit", str(script), "--json").stdout)
    states = {g["node"]: (g["take_status"], g["problems"]) for g in report["generated"]}
    assert states["Relative"][0] == "changed" and report["unresolved"] == []
    assert states["Queued"][0] == "incomplete"
    assert states["Changed"] == ("changed", ["frame 1002 changed after the take was made"])
    assert states["Fine"] == ("complete", [])


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip(
        "Chromium is not installed (the CI set-up installs the Debian package `chromium`); "
        "the review page was checked without a screenshot"
    )


def test_the_review_page_is_self_contained_and_renders(takes: dict[str, Path]) -> None:
    base = takes["base"]
    script = base / "review.nk"
    script.write_text(
        HEADER
        + 'GenerateElement {\n prompt "rising smoke"\n model builtin:tiny-ltx\n seed 9\n'
        + " name Smoke\n}\n"
        + read_node("DustRead", takes["take"] / "dust_v001.####.exr", take=takes["take"])
    )
    report = base / "report.html"
    ran = run_cli("audit", str(script), "--html", str(report), "--fail-if-any")
    assert ran.returncode == 3, ran.stderr
    page = report.read_text(encoding="utf-8")
    assert page.index("Smoke") < page.index("DustRead")  # script order
    assert page.count('src="data:image/png;base64,') == 3  # first, middle and last frame
    assert "http://" not in page and "https://" not in page
    assert HOSTILE not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "take complete, frames unchanged" in page and "no take generated yet" in page
    assert "builtin:tiny-ltx" in page and "sha256:" in page
    assert "Linear Rec.709 (sRGB) -&gt; sRGB - Display" in page  # a display view, not raw

    browser = chromium()
    shot = base / "report.png"
    with tempfile.TemporaryDirectory() as profile:
        flags = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--window-size=1100,1400",
        ]
        env = {**os.environ, "HOME": profile}
        done = subprocess.run(
            [browser, *flags, f"--screenshot={shot}", report.as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env=env,
        )
        assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
        dom = subprocess.run(
            [browser, *flags, "--dump-dom", report.as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env=env,
        )
    assert "DustRead" in dom.stdout and "AI-generated elements in review.nk" in dom.stdout
    image = read_pixels(shot)
    colours = np.unique((image[..., :3] * 255).round().reshape(-1, 3), axis=0)
    assert image.shape[0] >= 1000 and image.shape[1] >= 1000
    assert len(colours) > 200  # text, panels and the thumbnails, not a blank page
