"""Fixtures that put the fake `nuke` in place and start from a clean, untitled session."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.fake_nuke import harness
from tests.fake_nuke import nuke as fake

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def fake_nuke(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[ModuleType]:
    """The fake as `nuke`, started with NUKE_PATH naming nuke_plugin/, logs in tmp_path."""
    monkeypatch.setitem(sys.modules, "nuke", fake)
    monkeypatch.setenv("GENVFX_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setenv("GENVFX_WORKER", shlex.join([sys.executable, "-m", "genvfx", "worker"]))
    harness.reset()
    harness.start_nuke(REPO / "nuke_plugin")
    yield fake
    harness.reset()


@pytest.fixture
def script(fake_nuke: ModuleType, tmp_path: Path) -> Path:
    """A saved script in tmp_path, so takes default to tmp_path/genvfx."""
    path = tmp_path / "shot" / "comp_v001.nk"
    path.parent.mkdir(parents=True)
    path.write_text("")
    harness.set_script(str(path))
    return path
