"""What this install can run: versions, device and dtype, the OCIO config, the models found.

`genvfx info` prints it and the worker's `info` op answers with it, so a TD sees the same
report from a shell and from the Nuke plugin's self-check.
"""

from __future__ import annotations

import importlib.metadata
import os
import sys
from typing import Any

from .. import __version__

PACKAGES = ("torch", "diffusers", "transformers", "OpenImageIO", "opencolorio")


def collect() -> dict[str, Any]:
    from ..media.colour import config_name, load_config
    from ..models.builtin import builtin_names
    from ..models.catalogue import FAMILIES
    from ..models.devices import choose_device
    from ..models.resolve import list_local_models
    from ..paths import cache_dir, model_search_dirs

    versions = {"genvfx": __version__, "python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    choice = choose_device(None, None)
    ocio_env = os.environ.get("OCIO")
    config = config_name(ocio_env)
    try:
        loaded = load_config(config)
        ocio_state = f"{config} ({loaded.getName() or 'unnamed'})"
    except Exception as exc:
        ocio_state = f"{config}: cannot load: {exc}"
    return {
        "versions": versions,
        "device": choice.device,
        "dtype": choice.dtype,
        "device_reason": choice.reason,
        "ocio_config": ocio_state,
        "ocio_source": "$OCIO" if ocio_env else "built-in default ($OCIO is not set)",
        "cache": str(cache_dir()),
        "model_dirs": [str(p) for p in model_search_dirs()],
        "models": builtin_names()
        + [f"{name} ({fam}) {path}" for name, path, fam in list_local_models()],
        "network": "off unless a job sets allow_network",
        "families": {
            key: {
                "label": family.label,
                "modes": {
                    mode: sorted(
                        {family.pipeline_for(mode, variant) for variant in _holders(family, mode)}
                    )
                    for mode in family.modes
                },
                "passes": dict(family.passes),
                "parallel": _parallel(family),
                "licence": family.licence,
            }
            for key, family in FAMILIES.items()
        },
        "levers": _levers(choice),
    }


def _holders(family: Any, mode: str) -> list[str | None]:
    """The weights (model_index classes) of a family that run `mode`; None: its plain ones."""
    found: list[str | None] = [None] if mode in family.pipelines else []
    return found + [name for name, table in family.variants.items() if mode in table]


def _parallel(family: Any) -> dict[str, Any]:
    from ..pipeline.parallel import family_support

    try:
        return family_support(
            {m: [family.pipeline_for(m, v) for v in _holders(family, m)] for m in family.modes}
        )
    except ImportError as exc:
        return {"error": f"diffusers cannot be imported: {exc}"}


def _levers(choice: Any) -> dict[str, Any]:
    from ..pipeline.levers import available_levers

    try:
        from ..pipeline.parallel import visible_gpus

        return {**available_levers(choice), "gpus": max(1, len(visible_gpus()))}
    except ImportError as exc:
        return {"error": f"diffusers cannot be imported: {exc}"}
