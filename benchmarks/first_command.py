"""Wall time and peak memory of the README's first generation (tiny model, 9 frames, 64x64).

Run: python benchmarks/first_command.py [--runs N]. Uses a fresh model cache the first run
(so the built-in model is built and saved once), then the warm cache.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMAND = [
    "generate",
    "--model",
    "builtin:tiny-ltx",
    "--prompt",
    "dust plume",
    "--frames",
    "1001-1009",
    "--format",
    "64x64",
    "--seed",
    "7",
    "--steps",
    "4",
    "--name",
    "dust",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    repo = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        env_cache = Path(tmp) / "cache"
        for run in range(args.runs):
            started = time.perf_counter()
            result = subprocess.run(
                [sys.executable, "-m", "genvfx", *COMMAND, "--out", str(Path(tmp) / "takes")],
                cwd=repo,
                env={**os.environ, "GENVFX_CACHE": str(env_cache)},
                capture_output=True,
                text=True,
            )
            wall = time.perf_counter() - started
            if result.returncode != 0:
                print(result.stderr, file=sys.stderr)
                return result.returncode
            peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            label = "cold cache" if run == 0 else "warm cache"
            print(f"run {run + 1} ({label}): wall {wall:.1f} s, peak RSS so far {peak_mib:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
