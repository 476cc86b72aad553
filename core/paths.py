"""Where genvfx keeps its own files, and the folders it searches for models."""

from __future__ import annotations

import os
from pathlib import Path

MODEL_SETTINGS = "genvfx.json"


def cache_dir() -> Path:
    """`GENVFX_CACHE`, else `$XDG_CACHE_HOME/genvfx`, else `~/.cache/genvfx`."""
    explicit = os.environ.get("GENVFX_CACHE")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "genvfx"


def model_search_dirs() -> list[Path]:
    """The folders listed in `GENVFX_MODELS` (separated like PATH), in order."""
    raw = os.environ.get("GENVFX_MODELS", "")
    return [Path(p) for p in raw.split(os.pathsep) if p]
