"""Peak memory and time of a long shot against its length, on a tiny built-in model.

Each length runs in a fresh process (peak RSS is per process), as `genvfx generate` would:

    python benchmarks/long_shot_memory.py                # 50, 200, 400 frames
    python benchmarks/long_shot_memory.py 100 400 --model builtin:tiny-ltx --format 512x512
    python benchmarks/long_shot_memory.py 49 241 --model builtin:tiny-ltx --format 1920x1080 \
        --model-size default --window 0 --overlap -1 --compression zip   # default settings

It prints one line per length: frames, windows, wall seconds, peak RSS (MiB), and the peak
of memory traced by Python (numpy arrays included, torch tensors not). Memory that does not
grow with the number of frames is what windowed generation promises.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time, tracemalloc
import torch
torch.set_num_threads(int(sys.argv[3]))
from genvfx.pipeline.engine import generate
from genvfx.job import GenerationJob

job = GenerationJob.from_json(sys.argv[1])
warm = job.replace(frames=f"{job.frames.first}-{job.frames.first + 8}", name="warm", window=9)
generate(warm)
tracemalloc.start()
started = time.monotonic()
done = generate(job)
seconds = time.monotonic() - started
_, traced = tracemalloc.get_traced_memory()
rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
manifest = json.load(open(done.manifest))
print(json.dumps({
    "frames": len(done.frames),
    "windows": len(manifest["generated"]["windows"]),
    "seconds": round(seconds, 2),
    "peak_rss_mib": round(rss_kib / 1024, 1),
    "peak_traced_mib": round(traced / 2**20, 2),
}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lengths", nargs="*", type=int, default=[50, 200, 400])
    parser.add_argument("--model", default="builtin:tiny-wan")
    parser.add_argument("--format", default="640x360", help="take size (each frame written)")
    parser.add_argument("--model-size", default="64x64", help="'default': the model's own")
    parser.add_argument("--window", type=int, default=33, help="0: the default window")
    parser.add_argument("--overlap", type=int, default=4, help="-1: the default overlap")
    parser.add_argument("--compression", default="none")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    print("frames  windows  seconds  peak RSS MiB  peak traced MiB")
    with tempfile.TemporaryDirectory(prefix="genvfx-bench-") as out:
        for length in args.lengths:
            job = {
                "prompt": "a long smoke trail",
                "model": args.model,
                "frames": f"1001-{1000 + length}",
                "format": args.format,
                "model_size": None if args.model_size == "default" else args.model_size,
                "steps": 1,
                "window": args.window or None,
                "overlap": None if args.overlap < 0 else args.overlap,
                "output_root": out,
                "name": f"len{length}",
                "compression": args.compression,
            }
            result = subprocess.run(
                [sys.executable, "-c", CHILD, json.dumps(job), out, str(args.threads)],
                capture_output=True,
                text=True,
                env=env,
                cwd=ROOT,
                check=False,
            )
            if result.returncode != 0:
                print(result.stderr, file=sys.stderr)
                return result.returncode
            row = json.loads(result.stdout.strip().splitlines()[-1])
            print(
                f"{row['frames']:6}  {row['windows']:7}  {row['seconds']:7}  "
                f"{row['peak_rss_mib']:12}  {row['peak_traced_mib']:15}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
