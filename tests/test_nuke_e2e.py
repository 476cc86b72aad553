# ruff: noqa: F811  (pytest fixtures imported from tests.fake_nuke.fixtures)
"""End to end: the GenerateElement gizmo in the fake Nuke, a real worker, the tiny LTX model."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.fake_nuke import harness
from tests.fake_nuke.fixtures import fake_nuke, script  # noqa: F401 (fixtures)

TIMEOUT = 120.0


@pytest.fixture(scope="module", autouse=True)
def one_worker_per_module() -> Iterator[None]:
    """The tests share the session's worker, as one Nuke session would; stopped at the end."""
    yield
    from genvfx_nuke.worker_client import shutdown_shared

    shutdown_shared()


def element(fake: ModuleType, steps: int = 2) -> Any:
    node = fake.createNode("GenerateElement")
    node.setInput(0, harness.make_plate(1001, 1009, 64, 64))
    node["prompt"].setValue("a dust plume")
    node["seed"].setValue(5)
    node["steps"].setValue(steps)
    return node


def idle(node: Any) -> bool:
    import genvfx_nuke.node

    return not genvfx_nuke.node.is_running(node.fullName())


def complete_takes(folder: Path) -> list[str]:
    return sorted(
        m.parent.name
        for m in folder.glob("v*/manifest.json")
        if json.loads(m.read_text()).get("complete") is True
    )


def generate(node: Any) -> None:
    node["generate"].execute()
    assert harness.messages() == [], harness.messages()
    harness.pump(lambda: idle(node), TIMEOUT)


def start_long_job(node: Any) -> None:
    node["generate"].execute()
    harness.pump(lambda: node["status"].value().startswith("step "), TIMEOUT)


def test_generate_lands_v001_then_v002_without_reloading(
    fake_nuke: ModuleType,
    script: Path,
) -> None:
    from genvfx_nuke.worker_client import shared_client

    node = element(fake_nuke)
    read = node.node("take_read")
    takes = script.parent / "genvfx" / "GenerateElement1"
    generate(node)
    assert node["status"].value() == "idle: v001 complete, 9 frames (model loaded)"
    pattern = str(takes / "v001" / "GenerateElement1_v001.####.exr")
    assert harness.evaluate(read, "file") == pattern
    assert (harness.evaluate(read, "first"), harness.evaluate(read, "last")) == (1001, 1009)
    assert node["has_take"].value() is True
    assert all(
        (takes / "v001" / f"GenerateElement1_v001.{f}.exr").is_file() for f in range(1001, 1010)
    )
    task = harness.tasks()[-1]
    assert task._progress == 100 and "writing frame 9/9" in task._messages
    pid = shared_client().pid

    generate(node)
    assert node["status"].value() == "idle: v002 complete, 9 frames"
    assert shared_client().pid == pid
    assert "v002" in harness.evaluate(read, "file")
    assert node["take"].values() == ["v002  seed 5  a dust plume", "v001  seed 5  a dust plume"]
    assert node["take"].value() == node["take"].values()[0]
    assert complete_takes(takes) == ["v001", "v002"]
    harness.user_set(node, "take", node["take"].values()[1])
    assert harness.evaluate(read, "file") == pattern


def test_cancel_button_mid_run_leaves_the_node_idle(
    fake_nuke: ModuleType,
    script: Path,
) -> None:
    node = element(fake_nuke, steps=1000)
    start_long_job(node)
    node["cancel"].execute()
    harness.pump(lambda: idle(node), TIMEOUT)
    harness.pump(lambda: node["status"].value() == "idle: cancelled", 10)
    assert complete_takes(script.parent / "genvfx" / "GenerateElement1") == []
    assert node["has_take"].value() is False
    assert harness.messages() == []


def test_cancelling_the_progress_bar_cancels_the_job(
    fake_nuke: ModuleType,
    script: Path,
) -> None:
    node = element(fake_nuke, steps=1000)
    start_long_job(node)
    harness.cancel_task(harness.tasks()[-1])
    harness.pump(lambda: idle(node), TIMEOUT)
    harness.pump(lambda: node["status"].value() == "idle: cancelled", 10)
    assert complete_takes(script.parent / "genvfx" / "GenerateElement1") == []


def test_a_killed_worker_is_a_clear_error_and_the_next_generate_works(
    fake_nuke: ModuleType,
    script: Path,
) -> None:
    from genvfx_nuke.worker_client import shared_client

    node = element(fake_nuke, steps=1000)
    start_long_job(node)
    dead = shared_client().pid
    assert dead is not None
    os.kill(dead, signal.SIGKILL)
    harness.pump(lambda: idle(node), TIMEOUT)
    harness.pump(lambda: bool(harness.messages()), 10)
    (message,) = harness.messages()
    assert "the genvfx worker stopped unexpectedly (exit code -9)" in message
    assert "Press Generate to start it again" in message
    assert node["status"].value().startswith("error: the genvfx worker stopped")
    log = Path(os.environ["GENVFX_LOG_DIR"]) / "nuke.log"
    assert "stopped unexpectedly" in log.read_text()

    harness.reset_messages()
    node["steps"].setValue(2)
    generate(node)
    assert shared_client().pid != dead
    assert node["status"].value() == "idle: v002 complete, 9 frames (model loaded)"
    assert complete_takes(script.parent / "genvfx" / "GenerateElement1") == ["v002"]


def test_a_job_the_worker_refuses_is_one_clear_message(
    fake_nuke: ModuleType,
    script: Path,
) -> None:
    node = element(fake_nuke)
    node["model"].setValue(str(script.parent / "no-such-model"))
    node["generate"].execute()
    harness.pump(lambda: idle(node), TIMEOUT)
    (message,) = harness.messages()
    assert message.startswith("GenerateElement1: model: ")
    assert "no-such-model" in message and "Details: " in message
    assert node["status"].value().startswith("error: model: ")
    assert not (script.parent / "genvfx" / "GenerateElement1").exists()


def test_generate_works_with_a_broken_numpy_on_pythonpath(
    fake_nuke: ModuleType,
    script: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """A launcher's PYTHONPATH (another numpy) reaches Nuke, never the worker."""
    from genvfx_nuke.worker_client import shared_client, shutdown_shared

    studio = tmp_path / "studio"
    (studio / "numpy").mkdir(parents=True)
    (studio / "numpy" / "__init__.py").write_text("raise ImportError('studio numpy 1.16')\n")
    monkeypatch.setenv("PYTHONPATH", str(studio))
    monkeypatch.setenv("PYTHONUSERBASE", str(studio))
    shutdown_shared()
    node = element(fake_nuke)
    generate(node)
    assert node["status"].value() == "idle: v001 complete, 9 frames (model loaded)"
    assert shared_client().alive()
    assert complete_takes(script.parent / "genvfx" / "GenerateElement1") == ["v001"]
