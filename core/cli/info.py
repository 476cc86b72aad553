"""`genvfx info`: what a TD checks first when something fails."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from ..worker.install_info import collect


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "info",
        help="versions, device, OCIO config, families, levers and models found",
        description="Print versions, the device and dtype genvfx will use (and why), "
        "the OCIO config in force, every model family with its modes and pipeline classes, "
        "the speed levers this machine can use and the models found.",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


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
    print("families:")
    for key, family in info["families"].items():
        modes = ", ".join(f"{mode} ({' | '.join(c)})" for mode, c in family["modes"].items())
        print(f"  {key:10} {family['label']}: {modes}")
    levers = info["levers"]
    print("levers:")
    for name, value in levers.items():
        if name != "step_cache_blocks":
            print(f"  {name:18} {value}")
    print("models:")
    for model in info["models"]:
        print(f"  {model}")
    return 0
