# ruff: noqa: F811  (pytest fixtures imported from tests.fake_nuke.fixtures)
"""The Nuke layer with the fake `nuke` and no worker: knobs, validation, inputs, takes, install."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.fake_nuke import harness
from tests.fake_nuke.fixtures import fake_nuke, script  # noqa: F401 (fixtures)

REPO = Path(__file__).resolve().parents[1]


class RecordingClient:
    """Stands in for the worker client where a test is about what would be sent; each job
    ends at once with `ending` (default: cancelled)."""

    def __init__(self, ending: dict[str, Any] | None = None) -> None:
        self.jobs: list[dict[str, Any]] = []
        self.colours: list[dict[str, str] | None] = []
        self.ending = ending or {"event": "cancelled", "message": "test"}

    def submit(self, job: dict[str, Any], script_colour: dict[str, str] | None = None) -> Any:
        from genvfx_nuke.worker_client import JobHandle

        self.jobs.append(job)
        self.colours.append(script_colour)
        handle = JobHandle(f"job{len(self.jobs)}", self)  # type: ignore[arg-type]
        handle.events.put({"id": handle.id, **self.ending})
        return handle

    def cancel(self, job_id: str) -> None:
        return None


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch, fake_nuke: ModuleType) -> Iterator[RecordingClient]:
    """Records jobs; each ends at once as cancelled, and the test ends with every node idle."""
    import genvfx_nuke.node

    client = RecordingClient()
    monkeypatch.setattr(genvfx_nuke.node, "shared_client", lambda: client)
    yield client
    harness.pump(lambda: not genvfx_nuke.node._active, timeout=10)


def element(fake: ModuleType, plate: bool = True) -> Any:
    node = fake.createNode("GenerateElement")
    if plate:
        node.setInput(0, harness.make_plate(1001, 1009, 64, 48))
    node["prompt"].setValue("a dust plume")
    return node


def write_take(root: Path, name: str, version: int, seed: int, prompt: str, complete: bool) -> Path:
    folder = root / name / f"v{version:03d}"
    folder.mkdir(parents=True)
    manifest = {
        "complete": complete,
        "status": "complete" if complete else "running",
        "job": {"seed": seed, "prompt": prompt},
        "first": 1001,
        "last": 1009,
        "pattern": str(folder / f"{name}_v{version:03d}.####.exr"),
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_init_adds_the_gizmos_and_menu_adds_the_node(fake_nuke: ModuleType) -> None:
    import genvfx_nuke.install

    assert fake_nuke._STATE["plugin_path"][0] == str(REPO / "gizmos")
    genvfx_nuke.install.menu()
    command = harness.menu("Nodes").findItem("genvfx").findItem("GenerateElement")
    assert command == "nuke.createNode('GenerateElement')"


@pytest.mark.parametrize("startup", ["init.py", "menu.py"])
def test_a_broken_install_never_stops_nuke(startup: str, tmp_path: Path) -> None:
    (tmp_path / "nuke.py").write_text("raise ImportError('simulated broken install')\n")
    nuke_path = REPO / "nuke_plugin"
    code = f"import sys; sys.path[:0] = [{str(tmp_path)!r}, {str(nuke_path)!r}]\n"
    code += (nuke_path / startup).read_text() + "\nprint('nuke carried on')\n"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    assert "nuke carried on" in result.stdout
    assert "simulated broken install" in result.stderr and "genvfx" in result.stderr


def test_new_node_is_idle_with_defaults(fake_nuke: ModuleType) -> None:
    node = fake_nuke.createNode("GenerateElement")
    assert node.name() == "GenerateElement1"
    assert node["status"].value() == "idle"
    assert node["model"].value() == "builtin:tiny-ltx"
    assert node["mode"].value() == "t2v"
    assert node["take"].values() == []
    assert node["has_take"].value() is False
    assert harness.evaluate(node.node("take_read"), "file") == ""


@pytest.mark.parametrize(
    "change, words",
    [
        ({"prompt": "   "}, "prompt: type what to generate"),
        ({"frames": "1001-1o9"}, "frames: '1001-1o9' is not a range"),
        ({"frames": "1010-1001"}, "before the first"),
        ({"seed": -1}, "seed: "),
        ({"guidance": 150.0}, "guidance: "),
        ({"mode": "i2v", "plate": None}, "plate: connect a plate"),
        ({"mode": "inpaint"}, "mask: connect a mask"),
        (
            {"output_root": "relative/takes", "script": None},
            "output_root: 'relative/takes' is relative",
        ),
        ({"script": None}, "output_root: save the script first"),
    ],
)
def test_bad_knobs_refuse_clearly_and_start_nothing(
    fake_nuke: ModuleType,
    script: Path,
    recording: RecordingClient,
    change: dict[str, Any],
    words: str,
) -> None:
    node = element(fake_nuke, plate="plate" not in change)
    if "script" in change:
        harness.set_script("")
    for knob, value in change.items():
        if knob not in ("plate", "script"):
            node[knob].setValue(value)
    node["generate"].execute()
    assert len(harness.messages()) == 1
    assert words in harness.messages()[0]
    assert node["status"].value().startswith("not started: ")
    assert recording.jobs == []
    assert harness.executed() == []
    assert not (script.parent / "genvfx").exists()


def test_t2v_job_takes_range_and_format_from_the_plate(
    fake_nuke: ModuleType,
    script: Path,
    recording: RecordingClient,
) -> None:
    node = element(fake_nuke)
    node["seed"].setValue(1234)
    node["steps"].setValue(3)
    node["negative_prompt"].setValue('no "text" [or] {braces} $HOME')
    node["generate"].execute()
    (job,) = recording.jobs
    assert job == {
        "prompt": "a dust plume",
        "negative_prompt": 'no "text" [or] {braces} $HOME',
        "model": "builtin:tiny-ltx",
        "mode": "t2v",
        "frames": {"first": 1001, "last": 1009},
        "format": {"width": 64, "height": 48},
        "seed": 1234,
        "steps": 3,
        "output_root": str(script.parent / "genvfx"),
        "name": "GenerateElement1",
    }
    assert harness.executed() == []
    harness.pump(lambda: node["status"].value() == "idle: cancelled", timeout=10)


def test_without_a_plate_the_script_range_and_format_are_used(
    fake_nuke: ModuleType,
    script: Path,
    recording: RecordingClient,
) -> None:
    node = element(fake_nuke, plate=False)
    node["frames"].setValue("5")
    node["output_root"].setValue(str(script.parent / "elsewhere"))
    node["generate"].execute()
    (job,) = recording.jobs
    assert job["frames"] == {"first": 5, "last": 5}
    assert job["format"] == {"width": 1920, "height": 1080}
    assert job["output_root"] == str(script.parent / "elsewhere")


def test_ocio_script_sends_its_colour_knobs_which_the_worker_reads(
    fake_nuke: ModuleType,
    script: Path,
    recording: RecordingClient,
) -> None:
    from genvfx.worker.server import request_job

    root = fake_nuke.root()
    root["colorManagement"].setValue("OCIO")
    root["OCIO_config"]._values = ["custom", "aces_1.2"]
    root["OCIO_config"].setValue("custom")
    root["customOCIOConfigPath"].setValue("/studio/ocio/config.ocio")
    root["workingSpaceLUT"].setValue("ACEScg")
    element(fake_nuke)["generate"].execute()
    (job,) = recording.jobs
    (colour,) = recording.colours
    assert colour is not None and colour["customOCIOConfigPath"] == "/studio/ocio/config.ocio"
    read = request_job({"job": job, "script_colour": colour})
    assert (read.working_space, read.ocio_config) == ("ACEScg", "/studio/ocio/config.ocio")


@pytest.mark.parametrize(
    ("root_text", "working"),
    [
        ("Root {\n colorManagement OCIO\n OCIO_config nuke-default\n}\n", "lin_rec709"),
        ("Root {\n colorManagement Nuke\n}\n", "lin_rec709"),
        (
            "Root {\n colorManagement OCIO\n OCIO_config fn-nuke_cg-config-v2.1.0_aces-v1.3"
            "_ocio-v2.3\n workingSpaceLUT ACEScg\n}\n",
            "ACEScg",
        ),
    ],
)
def test_the_node_and_generate_script_read_a_script_colour_alike(
    fake_nuke: ModuleType,
    script: Path,
    recording: RecordingClient,
    root_text: str,
    working: str,
) -> None:
    from genvfx.scripts.colour import script_colour
    from genvfx.scripts.nk import Script
    from genvfx.worker.server import request_job

    saved = script.parent / "colour.nk"
    saved.write_text(root_text)
    from_script = script_colour(Script.read(saved), saved)
    root = fake_nuke.root()
    for line in root_text.splitlines()[1:-1]:
        knob, value = line.split()
        if knob == "OCIO_config":
            root[knob]._values = [value]
        root[knob].setValue(value)
    element(fake_nuke)["generate"].execute()
    read = request_job({"job": recording.jobs[0], "script_colour": recording.colours[0]})
    assert from_script.working_space == read.working_space == working
    assert from_script.ocio_config == read.ocio_config


def test_plate_modes_render_inputs_through_the_internal_writes(
    fake_nuke: ModuleType,
    script: Path,
    recording: RecordingClient,
) -> None:
    node = element(fake_nuke)
    node.setInput(1, harness.make_plate(1001, 1009, 64, 48))
    node["mode"].setValue("inpaint")
    node["strength"].setValue(0.25)
    node["frames"].setValue("1003-1006")
    node["generate"].execute()
    (job,) = recording.jobs
    inputs = Path(job["plate"]).parent
    assert inputs.parent == script.parent / "genvfx" / "GenerateElement1" / "_inputs"
    assert inputs.is_dir()
    assert job["plate"] == str(inputs / "plate.####.exr")
    assert job["mask"] == str(inputs / "mask.####.exr")
    assert job["strength"] == 0.25
    assert harness.executed() == [
        ("GenerateElement1.plate_write", job["plate"], 1003, 1006, 1, ("main",), False),
        ("GenerateElement1.mask_write", job["mask"], 1003, 1006, 1, ("main",), False),
    ]
    assert sorted(p.name for p in inputs.iterdir())[:2] == ["mask.1003.exr", "mask.1004.exr"]
    assert node.node("plate_write")["disable"].value() is True
    assert node.node("mask_write")["disable"].value() is True


def test_take_selector_lists_complete_takes_newest_first(
    fake_nuke: ModuleType,
    script: Path,
) -> None:
    root = script.parent / "genvfx"
    write_take(root, "GenerateElement1", 1, 11, "first try", complete=True)
    write_take(root, "GenerateElement1", 2, 22, "a   long\nprompt " + "x" * 80, complete=True)
    write_take(root, "GenerateElement1", 3, 33, "interrupted", complete=False)
    (root / "GenerateElement1" / "v004").mkdir()
    node = element(fake_nuke)
    labels = node["take"].values()
    assert labels[0].startswith("v002  seed 22  a long prompt xxx") and labels[0].endswith("…")
    assert labels[1] == "v001  seed 11  first try"
    assert len(labels) == 2
    assert node["has_take"].value() is False
    read = node.node("take_read")
    harness.user_set(node, "take", labels[1])
    assert harness.evaluate(read, "file") == str(
        root / "GenerateElement1/v001/GenerateElement1_v001.####.exr"
    )
    assert (harness.evaluate(read, "first"), harness.evaluate(read, "last")) == (1001, 1009)
    harness.user_set(node, "take", labels[0])
    assert node["take_version"].value() == "v002"
    assert "v002" in harness.evaluate(read, "file")
    assert node["has_take"].value() is True


def test_randomise_seed(fake_nuke: ModuleType) -> None:
    node = element(fake_nuke)
    seeds = set()
    for _ in range(5):
        node["randomise_seed"].execute()
        seeds.add(node["seed"].value())
    assert len(seeds) > 1 and all(0 <= s <= 2**31 - 1 for s in seeds)


def test_cancel_with_nothing_running(fake_nuke: ModuleType) -> None:
    node = element(fake_nuke)
    node["cancel"].execute()
    assert node["status"].value() == "idle: nothing to cancel"
    assert harness.messages() == []


def test_a_worker_that_cannot_start_is_one_clear_message(
    fake_nuke: ModuleType,
    script: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GENVFX_WORKER", "/no/such/genvfx worker")
    node = element(fake_nuke)
    node["mode"].setValue("i2v")
    node["generate"].execute()
    assert harness.executed() == [], "inputs were rendered for a job that could not be sent"
    assert not (script.parent / "genvfx").exists()
    (message,) = harness.messages()
    assert "cannot start the genvfx worker `/no/such/genvfx worker`" in message
    assert "GENVFX_WORKER" in message and "Details: " in message
    assert node["status"].value().startswith("error: cannot start")


@pytest.mark.parametrize(
    "setting, command",
    [
        (None, ["genvfx", "worker"]),
        ("  ", ["genvfx", "worker"]),
        ("'/opt/gen vfx/bin/genvfx' worker", ["/opt/gen vfx/bin/genvfx", "worker"]),
        ("/usr/bin/python3 -m genvfx worker", ["/usr/bin/python3", "-m", "genvfx", "worker"]),
    ],
)
def test_worker_command_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, setting: str | None, command: list[str]
) -> None:
    from genvfx_nuke.worker_client import worker_command

    if setting is None:
        monkeypatch.delenv("GENVFX_WORKER", raising=False)
    else:
        monkeypatch.setenv("GENVFX_WORKER", setting)
    assert worker_command() == command


def test_an_unsplittable_worker_command_is_refused(
    monkeypatch: pytest.MonkeyPatch, fake_nuke: ModuleType
) -> None:
    from genvfx_nuke.worker_client import WorkerError, worker_command

    monkeypatch.setenv("GENVFX_WORKER", "'unclosed worker")
    with pytest.raises(WorkerError, match="GENVFX_WORKER="):
        worker_command()
