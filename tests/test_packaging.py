"""The package a studio installs: `genvfx` by name, and nothing else on anyone's path."""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import genvfx

REPO = Path(__file__).resolve().parents[1]
NUKE_PATH = REPO / "nuke_plugin"


def test_the_wheel_holds_only_the_genvfx_package(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (REPO / name).exists():
            shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / "core", source / "core", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "nuke_plugin", source / "nuke_plugin")
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(source),
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "--wheel-dir",
            str(tmp_path / "wheels"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = (tmp_path / "wheels").glob("genvfx-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert top == {"genvfx", f"genvfx-{genvfx.__version__}.dist-info"}
    for package in ("job", "models", "media", "take", "pipeline", "scripts", "farm", "worker"):
        assert f"genvfx/{package}/__init__.py" in names
    entry_points = zipfile.ZipFile(wheel).read(
        f"genvfx-{genvfx.__version__}.dist-info/entry_points.txt"
    )
    assert b"genvfx = genvfx.cli:main" in entry_points


def test_installed_genvfx_imports_and_core_does_not(tmp_path: Path) -> None:
    code = (
        "import importlib.util, genvfx, genvfx.cli\n"
        "print(genvfx.__file__)\n"
        "print(importlib.util.find_spec('core'), importlib.util.find_spec('nuke_plugin'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    location, specs = result.stdout.splitlines()
    assert Path(location).is_relative_to(REPO / "core")
    assert specs == "None None"
    run = subprocess.run(
        [sys.executable, "-m", "genvfx", "--version"], cwd=tmp_path, capture_output=True, text=True
    )
    assert run.returncode == 0 and genvfx.__version__ in run.stdout + run.stderr


def test_one_version_number() -> None:
    assert importlib.metadata.version("genvfx") == genvfx.__version__
    assert genvfx.__version__ not in (REPO / "pyproject.toml").read_text()


def test_the_nuke_path_folder_exposes_only_what_nuke_needs(tmp_path: Path) -> None:
    entries = {p.name for p in NUKE_PATH.iterdir() if p.name != "__pycache__"}
    assert entries == {"init.py", "menu.py", "genvfx_nuke"}
    code = (
        f"import sys; sys.path.insert(0, {str(NUKE_PATH)!r})\n"
        "import importlib.util\n"
        "import genvfx_nuke.settings\n"
        "print([importlib.util.find_spec(n) for n in ('core', 'tests', 'genvfx', 'torch')])\n"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[None, None, None, None]"
