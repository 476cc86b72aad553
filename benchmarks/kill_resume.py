"""kill -9 `genvfx generate` at random moments, then `genvfx resume`: do the takes complete
with the pixels of an uninterrupted run, and does any read `running` after its process died?

Run: python benchmarks/kill_resume.py [--runs N] [--seed S]. Each run starts the same job
(tiny Wan, 20 frames in 3 overlapping windows), kills it at a moment drawn uniformly over the
uninterrupted run's wall time, reads the take's status, resumes it and compares every frame
bit for bit with the uninterrupted take.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

GENVFX = [sys.executable, "-m", "genvfx"]


def job(out: Path, name: str) -> dict[str, Any]:
    return {
        "prompt": "a long smoke trail",
        "model": "builtin:tiny-wan",
        "frames": "1001-1020",
        "format": "48x48",
        "model_size": "32x32",
        "steps": 2,
        "seed": 11,
        "window": 9,
        "overlap": 2,
        "output_root": str(out),
        "name": name,
    }


def pixels(folder: Path) -> dict[str, np.ndarray]:
    import OpenImageIO as oiio

    return {
        p.name.split(".", 1)[1]: oiio.ImageBuf(str(p)).get_pixels(oiio.HALF)
        for p in sorted(folder.glob("*.exr"))
    }


def status(folder: Path) -> str:
    from genvfx.take.record import TakeRecord

    if not (folder / "manifest.json").is_file():
        return "no record"
    return TakeRecord.read(folder).status


def start(out: Path, name: str) -> subprocess.Popen[bytes]:
    path = out / f"{name}.json"
    path.write_text(json.dumps(job(out, name)))
    return subprocess.Popen(
        [*GENVFX, "generate", "--job", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    draw = random.Random(args.seed)
    out = Path(tempfile.mkdtemp(prefix="genvfx-kill-"))
    began = time.monotonic()
    start(out, "reference").wait()
    duration = time.monotonic() - began
    reference = pixels(out / "reference" / "v001")
    counts: dict[str, int] = {}
    equal = resumed_ok = read_running = 0
    for run in range(args.runs):
        name = f"run{run}"
        moment = draw.uniform(0.0, duration)
        process = start(out, name)
        time.sleep(moment)
        process.kill()
        process.wait()
        folder = out / name / "v001"
        state = status(folder) if folder.is_dir() else "no take"
        counts[state] = counts.get(state, 0) + 1
        read_running += state == "running"
        if state in ("no take", "no record"):
            print(f"run {run}: killed at {moment:.2f}s: {state}", flush=True)
            continue
        done = subprocess.run([*GENVFX, "resume", str(folder)], capture_output=True, text=True)
        resumed_ok += done.returncode == 0 and status(folder) == "complete"
        result = pixels(folder)
        same = result.keys() == reference.keys() and all(
            np.array_equal(result[f], reference[f]) for f in reference
        )
        equal += same
        print(f"run {run}: killed at {moment:.2f}s: {state}; resumed, equal pixels: {same}")
    resumable = args.runs - counts.get("no take", 0) - counts.get("no record", 0)
    summary = {
        "runs": args.runs,
        "uninterrupted_seconds": round(duration, 2),
        "status_after_kill": counts,
        "read_running_after_kill": read_running,
        "resumed_complete": f"{resumed_ok}/{resumable}",
        "equal_pixels": f"{equal}/{resumable}",
    }
    print(json.dumps(summary, indent=2))
    return 0 if read_running == 0 and equal == resumable == resumed_ok else 1


if __name__ == "__main__":
    sys.exit(main())
