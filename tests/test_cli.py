"""The CLI as a TD runs it: a real subprocess, exit codes, JSON events, Ctrl-C."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import NetworkUsed, genvfx_command

from genvfx.cli.main import main
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
