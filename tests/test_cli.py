"""The CLI as a TD runs it: a real subprocess, exit codes, JSON events, Ctrl-C."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import pytest
from conftest import NetworkUsed, genvfx_command

from genvfx.cli.generate import TextReport
from genvfx.cli.main import main
from genvfx.events import Done, Progress, Stage
from genvfx.models.builtin import ensure_builtin
from genvfx.models.resolve import resolve_model

BASE = [
    "--prompt",
    "dust plume",
    "--frames",
    "1001-1009",
    "--format",
    "64x64",
    "--seed",
    "7",
    "--steps",
    "2",
]


def run_generate(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """`genvfx generate` on the tiny LTX model as a subprocess, as a TD runs it."""
    return subprocess.run(
        [
            *genvfx_command(),
            "generate",
            "--model",
            "builtin:tiny-ltx",
            *BASE,
            "--out",
            str(out),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_generate_prints_the_take_folder(tmp_path: Path) -> None:
    result = run_generate(tmp_path, "--name", "dust")
    assert result.returncode == 0, result.stderr
    take = Path(result.stdout.strip())
    assert take == tmp_path / "dust" / "v001"
    assert len(list(take.glob("dust_v001.*.exr"))) == 9
    assert "take v001 complete" in result.stderr
    assert "step 1/2" not in result.stderr, "no progress bar when stderr is not a terminal"


def test_json_events_end_with_done(tmp_path: Path) -> None:
    result = run_generate(tmp_path, "--json")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert {e["event"] for e in events} >= {"stage", "progress", "frame", "done"}
    assert events[-1]["event"] == "done"
    assert events[-1]["version"] == "v001"
    assert len(events[-1]["frames"]) == 9


def test_json_events_then_ctrl_c_cancels_with_130(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [
            *genvfx_command(),
            "generate",
            "--model",
            "builtin:tiny-ltx",
            *BASE[:-2],
            "--steps",
            "400",
            "--out",
            str(tmp_path),
            "--name",
            "dust",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    events = []
    for line in process.stdout:
        events.append(json.loads(line))
        if events[-1]["event"] == "progress":
            process.send_signal(signal.SIGINT)
            break
    rest = process.stdout.read()
    code = process.wait(timeout=120)
    events += [json.loads(line) for line in rest.splitlines()]
    assert code == 130
    assert events[0]["event"] == "stage"
    assert events[-1]["event"] == "cancelled"
    steps = [e["step"] for e in events if e["event"] == "progress"]
    assert steps and max(steps) < 400
    folder = tmp_path / "dust" / "v001"
    assert list(folder.glob("*.exr")) == []
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["complete"] is False and manifest["status"] == "cancelled"


def report_two_windows(stream: TextIO, interactive: bool) -> None:
    """What a two-window, nine-frame take of two steps reports, in the engine's order."""
    report = TextReport(interactive, stream)
    report(Stage("generate", "window 1/2: frames 1001-1005"))
    for step in (1, 2):
        report(Progress(step, 2, 0, 9))
    report(Stage("generate", "window 2/2: frames 1005-1009"))
    for step in (1, 2):
        report(Progress(step, 2, 4, 9))
    for frames in range(5, 10):
        report(Progress(2, 2, frames, 9))
    report.finish(Done("/takes/dust/v001", "v001", ["f"] * 9, "manifest.json", True))


def read_terminal(write: Callable[[TextIO], None]) -> str:
    """What `write` draws on a pseudo-terminal 100 columns wide."""
    import fcntl
    import struct
    import termios

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    with os.fdopen(slave, "w", encoding="utf-8") as terminal:
        write(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the terminal's other end is closed and everything was read
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    return b"".join(chunks).decode("utf-8")


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_a_terminal_gets_a_bar_of_steps_and_frames(capsys: pytest.CaptureFixture[str]) -> None:
    text = read_terminal(lambda terminal: report_two_windows(terminal, terminal.isatty()))
    screens = [s for s in re.split(r"[\r\n]+", text) if s]
    assert all(s.startswith("genvfx: ") for s in screens), screens
    messages = [s for s in screens if "|" not in s]
    assert messages == [
        "genvfx: window 1/2: frames 1001-1005",
        "genvfx: window 2/2: frames 1005-1009",
        "genvfx: take v001 complete: 9 frames",
    ]
    drawn = [s for s in screens if "|" in s]
    assert any(" 50%|" in s and "step 1/2, frames 0/9" in s for s in drawn), drawn
    assert any("step 1/2, frames 4/9" in s for s in drawn), drawn
    assert "100%|" in drawn[-1] and "step 2/2, frames 9/9" in drawn[-1]
    assert text.index("step 2/2, frames 0/9") < text.index("genvfx: window 2/2")
    assert "\ngenvfx: window 2/2" in text, "a stage message starts on its own line"
    assert capsys.readouterr().out == "/takes/dust/v001\n"


def test_the_bar_is_drawn_only_when_interactive(capsys: pytest.CaptureFixture[str]) -> None:
    drawn = io.StringIO()
    report_two_windows(drawn, interactive=True)
    assert "\rgenvfx: 100%|" in drawn.getvalue()
    assert "| step 1/2, frames 4/9 [" in drawn.getvalue()
    assert "| step 2/2, frames 9/9 [" in drawn.getvalue()
    plain = io.StringIO()
    report_two_windows(plain, interactive=False)
    assert plain.getvalue() == (
        "genvfx: window 1/2: frames 1001-1005\n"
        "genvfx: window 2/2: frames 1005-1009\n"
        "genvfx: take v001 complete: 9 frames\n"
    )
    assert capsys.readouterr().out == "/takes/dust/v001\n" * 2


def test_info_reports_versions_device_and_models(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert set(info["versions"]) >= {"genvfx", "torch", "diffusers", "OpenImageIO", "opencolorio"}
    assert info["device"] in ("cpu", "cuda")
    if info["device"] == "cpu":
        assert "CUDA is not available" in info["device_reason"]
    assert "builtin:tiny-ltx" in info["models"]
    assert info["ocio_config"].startswith("ocio://default")


def test_help_describes_every_flag() -> None:
    result = subprocess.run(
        [*genvfx_command(), "generate", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    for flag in (
        "--prompt",
        "--frames",
        "--format",
        "--seed",
        "--compression",
        "--json",
        "--print-job",
        "--job",
    ):
        assert flag in result.stdout


def test_model_found_by_name_under_genvfx_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = tmp_path / "models"
    shutil.copytree(ensure_builtin("builtin:tiny-wan"), models / "my-wan")
    monkeypatch.setenv("GENVFX_MODELS", os.pathsep.join([str(tmp_path / "empty"), str(models)]))
    source = resolve_model("my-wan")
    assert source.path == (models / "my-wan").resolve()
    assert source.family.key == "wan"
    assert source.weights_hash() == resolve_model("builtin:tiny-wan").weights_hash()


def test_network_connections_fail_in_tests() -> None:
    with pytest.raises(NetworkUsed), socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.connect(("127.0.0.1", 9))


def test_network_connections_fail_in_test_subprocesses() -> None:
    code = "import socket; socket.create_connection(('127.0.0.1', 9), timeout=1)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "forbid network connections" in result.stderr


def test_a_model_folder_can_narrow_its_working_size(tmp_path: Path) -> None:
    folder = tmp_path / "small-wan"
    shutil.copytree(ensure_builtin("builtin:tiny-wan"), folder)
    assert resolve_model("builtin:tiny-wan").family.default_size == (64, 64)
    (folder / "genvfx.json").write_text('{"default_size": [96, 64], "max_pixels": 9216}')
    family = resolve_model(str(folder)).family
    assert (family.default_size, family.max_pixels, family.key) == ((96, 64), 9216, "wan")
    (folder / "genvfx.json").unlink()
    assert resolve_model(str(folder)).family.default_size == (832, 480)
    (folder / "genvfx.json").write_text('{"default_size": [96]}')
    code = main(
        [
            "generate",
            "--model",
            str(folder),
            "--prompt",
            "p",
            "--frames",
            "1-5",
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert code == 2
    assert not (tmp_path / "o").exists()
