"""One take on one process against the same take split over N ranks (`genvfx generate --gpus N`).

Each run is a whole command as a user runs it (start, load, generate, write): on a GPU
machine the ratio is the speed-up several GPUs give; with `--test-gloo` (a CPU machine, the
test-only gloo backend) it is the cost of starting and coordinating the ranks, not a speed-up.

    .venv/bin/python benchmarks/parallel_ranks.py --gpus 2 --test-gloo
    .venv/bin/python benchmarks/parallel_ranks.py --model /models/Wan2.2-T2V-A14B --gpus 4 \\
        --format 1280x720 --frames 1-81 --steps 40
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def run(flags: list[str], gpus: int, out: Path, env: dict[str, str]) -> float:
    command = [sys.executable, "-m", "genvfx", "generate", *flags, "--gpus", str(gpus)]
    started = time.monotonic()
    done = subprocess.run(
        [*command, "--out", str(out), "--name", f"gpus{gpus}", "--json"],
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"gpus {gpus} failed ({done.returncode}): {done.stderr[-2000:]}")
    assert json.loads(done.stdout.splitlines()[-1])["event"] == "done"
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="builtin:tiny-wan")
    parser.add_argument("--gpus", type=int, default=2)
    parser.add_argument("--format", default="64x64")
    parser.add_argument("--frames", default="1-9")
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--test-gloo", action="store_true", help="ranks on the CPU (test only)")
    args = parser.parse_args()
    env = dict(os.environ)
    flags = ["--model", args.model, "--format", args.format, "--frames", args.frames]
    flags += ["--steps", str(args.steps), "--seed", "5", "--prompt", "dust"]
    if args.test_gloo:
        env["GENVFX_TEST_PARALLEL"] = "gloo"
        flags += ["--device", "cpu"]
    first, last = (int(n) for n in args.frames.split("-"))
    count = last - first + 1
    times: dict[int, list[float]] = {1: [], args.gpus: []}
    with tempfile.TemporaryDirectory() as scratch:
        for number in range(args.runs):
            for gpus in times:
                times[gpus].append(run(flags, gpus, Path(scratch) / f"{number}", env))
    one, many = (float(np.median(times[g])) for g in times)
    print(f"{args.model} {args.format} frames {args.frames} steps {args.steps}, {args.runs} run(s)")
    print("| gpus | s/take | s/frame |")
    print("|---|---|---|")
    for gpus, value in ((1, one), (args.gpus, many)):
        print(f"| {gpus} | {value:.1f} | {value / count:.2f} |")
    print(f"speed-up {one / many:.2f}x")


if __name__ == "__main__":
    main()
