"""Test set-up: an isolated cache, no network, helpers to run the CLI as users do."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NETGUARD = Path(__file__).resolve().parent / "netguard"
SHARED = REPO.parent / "shared"
NUKE_PATH = REPO / "nuke_plugin"

# The Nuke layer is imported as Nuke imports it: from the folder NUKE_PATH names.
sys.path.insert(0, str(NUKE_PATH))


class NetworkUsed(AssertionError):
    pass


@pytest.fixture(scope="session", autouse=True)
def isolated_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A private model cache (built-ins are built once per session) and a clean environment."""
    saved = dict(os.environ)
    os.environ["GENVFX_CACHE"] = str(tmp_path_factory.mktemp("genvfx-cache"))
    for name in ("GENVFX_MODELS", "OCIO", "GENVFX_OUT"):
        os.environ.pop(name, None)
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["GENVFX_TEST_NETGUARD"] = "1"
    os.environ["PYTHONPATH"] = str(NETGUARD)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread() -> Iterator[None]:
    """Tiny models are dominated by thread hand-offs; one thread is faster and steadier."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that opens a network connection (UNIX sockets stay allowed)."""
    original = socket.socket.connect

    def refuse(self: socket.socket, address: object) -> None:
        if self.family == getattr(socket, "AF_UNIX", None):
            return original(self, address)  # type: ignore[arg-type]
        raise NetworkUsed(f"a test tried to open a network connection to {address!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


def genvfx_command() -> list[str]:
    """The CLI as a subprocess, from this checkout (whatever is installed)."""
    return [sys.executable, "-m", "genvfx"]


def openjd_run_all(template: Path) -> subprocess.CompletedProcess[str]:
    """`openjd run TEMPLATE --step Complete --run-dependencies`: every step of a bundle."""
    openjd = Path(sys.executable).parent / "openjd"
    return subprocess.run(
        [str(openjd), "run", str(template), "--step", "Complete", "--run-dependencies"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(
            f"shared corpus not found at {SHARED} (only present beside the project checkout)"
        )
    return SHARED


def tiny_take(out: Path, name: str, prompt: str, frames: str = "1001-1003", steps: int = 2) -> Path:
    """A real take of the built-in tiny LTX model, 64x64, made in-process; its folder."""
    from genvfx.cli.main import main

    model = ["--model", "builtin:tiny-ltx", "--format", "64x64", "--seed", "5"]
    where = ["--out", str(out), "--name", name]
    what = ["--steps", str(steps), "--prompt", prompt, "--frames", frames]
    code = main(["generate", *model, *what, *where])
    assert code == 0
    return out / name / "v001"


def _hypothesis_profiles() -> None:
    """`ci` (the default): derandomized, bounded; `dev`: a fresh seed and 20x the examples.

    A longer local run: `HYPOTHESIS_PROFILE=dev GENVFX_FUZZ_SCALE=20 pytest tests/test_hostile.py`.
    """
    from hypothesis import HealthCheck, settings

    quiet = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
    settings.register_profile(
        "ci", derandomize=True, deadline=None, database=None, suppress_health_check=quiet
    )
    settings.register_profile("dev", deadline=None, suppress_health_check=quiet)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


_hypothesis_profiles()
