"""`genvfx info`: what a TD checks first when something fails."""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import sys
from typing import Any

from .. import __version__

PACKAGES = ("torch", "diffusers", "transformers", "OpenImageIO", "opencolorio")


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "info",
        help="versions, device, OCIO config and models found",
        description="Print versions, the device and dtype genvfx will use (and why), "
        "the OCIO config in force and the models found.",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def collect() -> dict[str, Any]:
    from ..media.colour import config_name, load_config
    from ..models.builtin import builtin_names
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
    }


def run(args: argparse.Namespace) -> int:
    info = collect()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    for name, version in info["versions"].items():
        print(f"{name:14} {version}")
    print(f"{'device':14} {info['device']} ({info['dtype']}): {info['device_reason']}")
    print(f"{'ocio config':14} {info['ocio_config']} from {info['ocio_source']}")
    print(f"{'cache':14} {info['cache']}")
    print(f"{'GENVFX_MODELS':14} {os.pathsep.join(info['model_dirs']) or '(not set)'}")
    print(f"{'network':14} {info['network']}")
    print("models:")
    for model in info["models"]:
        print(f"  {model}")
    return 0
