"""End to end: `genvfx generate` against a bare diffusers call plus a plain OpenImageIO write.

Run: python benchmarks/end_to_end.py [--model builtin:tiny-ltx] [--format 1920x1080]
     [--frames 49] [--steps N] [--runs 1] [--bare-framewise]

Each side runs in a fresh process, timed from its start to its exit (imports, model load,
generation, every frame on disk):

- genvfx: `python -m genvfx generate` with the job's flags and genvfx's defaults for the rest
  (the model's window and size budget, colour conversion into the working space, resize to
  the format, alpha, half ZIP EXRs written on every core while the VAE decodes).
- bare: the same pipeline class loaded from the same folder with `from_pretrained`, called
  once with exactly the arguments and seed genvfx gives it (taken from genvfx's plan before
  either side runs), `output_type="np"`, then each frame written as it came out of the
  pipeline (RGB, no colour conversion, no resize) as a half ZIP EXR with `ImageOutput`, one
  after the other. `--bare-framewise` also turns on the VAE's framewise decoding, which
  genvfx always uses (it keeps the decode's memory flat in the window's length).

It prints each side's wall and CPU seconds (user + system of the child process) and the
ratios genvfx / bare; with `--runs N` the medians of N alternating runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

BARE = r"""
import json, sys
from pathlib import Path
plan = json.loads(sys.argv[1])
import diffusers, numpy as np, OpenImageIO as oiio, torch
pipe = getattr(diffusers, plan["pipeline"]).from_pretrained(
    plan["path"], dtype=getattr(torch, plan["dtype"]), local_files_only=True
)
pipe.to(plan["device"])
pipe.set_progress_bar_config(disable=True)
if plan["framewise"]:
    pipe.vae.use_framewise_decoding = True
generator = torch.Generator(device="cpu").manual_seed(plan["seed"])
frames = pipe(**plan["arguments"], generator=generator, output_type="np").frames[0]
out_dir = Path(plan["out"])
for index, frame in enumerate(frames):
    height, width = frame.shape[:2]
    spec = oiio.ImageSpec(width, height, 3, "half")
    spec.attribute("compression", "zip")
    path = str(out_dir / f"bare.{1001 + index:04d}.exr")
    output = oiio.ImageOutput.create(path)
    output.open(path, spec)
    output.write_image(np.ascontiguousarray(frame, dtype=np.float16))
    output.close()
"""


def job_data(args: argparse.Namespace, out: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "prompt": "a plume of dust",
        "model": args.model,
        "frames": f"1001-{1000 + args.frames}",
        "format": args.format,
        "seed": 14,
        "output_root": out,
        "name": "e2e",
    }
    if args.steps is not None:
        data["steps"] = args.steps
    return data


def bare_plan(job: dict[str, Any], framewise: bool, out: str) -> dict[str, Any]:
    """The pipeline, arguments and seed genvfx would run (one window), as JSON for the child."""
    import diffusers

    from genvfx.job import GenerationJob
    from genvfx.pipeline.arguments import arguments_for
    from genvfx.pipeline.inference import with_call_defaults
    from genvfx.pipeline.inputs import window_inputs
    from genvfx.pipeline.prepare import prepare

    prepared = prepare(GenerationJob.from_dict(job))
    windows = prepared.windows()
    if len(windows) != 1:
        raise SystemExit(f"{len(windows)} windows: compare one-window takes (fewer --frames)")
    window = windows[0]
    name = prepared.plan.pipeline_class
    arguments = arguments_for(name, window_inputs(prepared, window, None, None))
    pipeline_class = getattr(diffusers, name)
    return {
        "pipeline": name,
        "path": str(prepared.model.path),
        "device": prepared.device.device,
        "dtype": prepared.device.dtype,
        "seed": window.seed,
        "arguments": with_call_defaults(pipeline_class, arguments, prepared.model.call_defaults),
        "framewise": framewise,
        "out": out,
    }


def timed(command: list[str], log: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one child process run to its end."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with log.open("w") as errors:
        started = time.monotonic()
        child = subprocess.Popen(command, env=env, cwd=ROOT, stdout=errors, stderr=errors)
        _pid, status, usage = os.wait4(child.pid, 0)
        wall = time.monotonic() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{command[:4]} failed ({child.returncode}):\n{log.read_text()}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="builtin:tiny-ltx")
    parser.add_argument("--format", default="1920x1080")
    parser.add_argument("--frames", type=int, default=49)
    parser.add_argument("--steps", type=int, default=None, help="default: the model's")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--bare-framewise", action="store_true")
    args = parser.parse_args()
    results: dict[str, list[tuple[float, float]]] = {"genvfx": [], "bare": []}
    for run in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="genvfx-e2e-") as out:
            job = job_data(args, out)
            plan = bare_plan(job, args.bare_framewise, out)
            job_file = Path(out) / "job.json"
            job_file.write_text(json.dumps(job))
            genvfx = [sys.executable, "-m", "genvfx", "generate", "--job", str(job_file)]
            bare = [sys.executable, "-c", BARE, json.dumps(plan)]
            order = [("genvfx", genvfx), ("bare", bare)]
            for kind, command in order if run % 2 == 0 else order[::-1]:
                results[kind].append(timed(command, Path(out) / f"{kind}.log"))
            written = len(list(Path(out).glob("e2e/v*/*.exr")))
            if written != args.frames or len(list(Path(out).glob("bare.*.exr"))) != args.frames:
                raise SystemExit(f"expected {args.frames} frames from each side, genvfx {written}")
    size = plan["arguments"]["width"], plan["arguments"]["height"]
    print(
        f"{plan['pipeline']}, {args.frames} frames generated at {size[0]}x{size[1]}, "
        f"written at {args.format}, {plan['arguments']['num_inference_steps']} steps, "
        f"{args.runs} run(s), bare framewise decoding: {args.bare_framewise}"
    )
    print("side     wall s    CPU s")
    medians = {}
    for kind, rows in results.items():
        wall = statistics.median(r[0] for r in rows)
        cpu = statistics.median(r[1] for r in rows)
        medians[kind] = (wall, cpu)
        print(f"{kind:7} {wall:8.2f} {cpu:8.2f}")
    wall_ratio = medians["genvfx"][0] / medians["bare"][0]
    cpu_ratio = medians["genvfx"][1] / medians["bare"][1]
    print(f"ratio   {wall_ratio:8.3f} {cpu_ratio:8.3f}   (genvfx / bare; target <= 1.05)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
