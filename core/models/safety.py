"""Which files of a model folder could run code when loaded: pickle weights, custom code.

Safetensors (and GGUF) files hold only tensors. A pickle file (`.bin`, `.pt`, `.pth`,
`.ckpt`, `.pkl`) can run any code when unpickled, and a folder's own Python modules (or a
config's `auto_map`) are code by definition: genvfx refuses such a folder when the model is
resolved unless the job sets `allow_unsafe_weights`. A pickle file beside a safetensors
file in the same folder is never loaded (genvfx loads safetensors only) and is not refused.
"""

from __future__ import annotations

import json
from pathlib import Path

SAFE_SUFFIXES = (".safetensors", ".gguf")
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
MAX_CONFIG_BYTES = 4 * 1024 * 1024


def unsafe_files(model: Path) -> list[str]:
    """Paths (relative to `model`) of pickle weights that would load, and of custom code."""
    found: list[str] = []
    folders = [model, *sorted(p for p in model.rglob("*") if p.is_dir())]
    for folder in folders:
        files = sorted(p for p in folder.iterdir() if p.is_file())
        has_safe = any(p.suffix in SAFE_SUFFIXES for p in files)
        found.extend(str(path.relative_to(model)) for path in files if _unsafe(path, has_safe))
    return found


def _unsafe(path: Path, beside_safetensors: bool) -> bool:
    if path.suffix in PICKLE_SUFFIXES:
        return not beside_safetensors
    return path.suffix == ".py" or (path.name == "config.json" and _has_auto_map(path))


def _has_auto_map(config: Path) -> bool:
    """True when a config asks for its own classes (`auto_map`: custom code)."""
    try:
        if config.stat().st_size > MAX_CONFIG_BYTES:
            return False
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(data, dict) and "auto_map" in data
