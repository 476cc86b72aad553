"""Seconds per frame and peak memory per family on the tiny built-ins: genvfx vs bare diffusers.

Run: python benchmarks/family_overhead.py [--runs N] [--frames F] [--size S] [--steps K]

For each family a child process loads the tiny model once, runs once untimed, then times N
runs of either a whole `genvfx` take (prepare, generate, colour, EXR writes, manifest: what
the worker does for each job once its model is loaded) or the bare diffusers call with
exactly the arguments genvfx passes. It reports the median seconds per frame, the ratio,
and each child's peak resident memory. On a shared machine the two children can see different
loads, so the genvfx child also times the pipeline calls (and the decodes streamed from them)
inside its own takes: the rest of each take ("fixed s/take") is genvfx's own cost, measured under the same load.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

FAMILIES = {
    "ltx2": "builtin:tiny-ltx2",
    "wan22": "builtin:tiny-wan22",
    "wan22-5b": "builtin:tiny-wan22-5b",
    "skyreels": "builtin:tiny-skyreels",
    "ltx": "builtin:tiny-ltx",
    "wan": "builtin:tiny-wan",
}


def job_data(model: str, out: str, frames: int, size: int, steps: int) -> dict[str, Any]:
    return {
        "prompt": "a dust plume",
        "model": model,
        "frames": f"1-{frames}",
        "format": f"{size}x{size}",
        "steps": steps,
        "guidance": 1.0,
        "seed": 3,
        "output_root": out,
        "name": "bench",
        "device": "cpu",
    }


def time_calls(module: Any, name: str, into: list[float]) -> None:
    """Wrap `module.name` so that each call appends its seconds to `into`."""
    run = getattr(module, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return run(*args, **kwargs)
        finally:
            into.append(time.perf_counter() - started)

    setattr(module, name, timed)


def child(kind: str, model: str, runs: int, frames: int, size: int, steps: int) -> None:
    import torch

    from genvfx.events import CancelToken
    from genvfx.job import GenerationJob
    from genvfx.pipeline.arguments import arguments_for
    from genvfx.pipeline.engine import generate
    from genvfx.pipeline.inference import PipelineCache, check_arguments, with_call_defaults
    from genvfx.pipeline.inputs import window_inputs
    from genvfx.pipeline.prepare import prepare

    torch.set_num_threads(1)
    out = tempfile.mkdtemp(prefix="genvfx-bench-")
    job = GenerationJob.from_dict(job_data(model, out, frames, size, steps))
    cache = PipelineCache()
    generate(job, cache=cache)
    times = []
    inside: list[float] = []
    if kind == "genvfx":
        from genvfx.pipeline import engine

        run = engine.decoded_groups

        def timed(*args: Any, **kwargs: Any) -> Any:
            """The window's pipeline call and decode, without the writing between groups."""
            groups = run(*args, **kwargs)
            spent = 0.0
            try:
                while True:
                    started = time.perf_counter()
                    group = next(groups, None)
                    spent += time.perf_counter() - started
                    if group is None:
                        return
                    yield group
            finally:
                inside.append(spent)

        engine.decoded_groups = timed  # type: ignore[assignment]
        for _ in range(runs):
            started = time.perf_counter()
            generate(job, cache=cache)
            times.append(time.perf_counter() - started)
    else:
        prepared = prepare(job)
        pipe = cache.current
        window = prepared.windows()[0]
        inputs = window_inputs(prepared, window, None, None)
        arguments = with_call_defaults(
            pipe, arguments_for(prepared.plan.pipeline_class, inputs), prepared.model.call_defaults
        )
        cancel = CancelToken()

        def step_end(_p: Any, _i: int, _t: Any, tensors: dict[str, Any]) -> dict[str, Any]:
            if cancel.cancelled:
                raise RuntimeError("cancelled")
            return tensors

        for _ in range(runs):
            call = {
                **arguments,
                "generator": torch.Generator(device="cpu").manual_seed(window.seed),
                "output_type": "np",
                "callback_on_step_end": step_end,
            }
            check_arguments(pipe, call)
            started = time.perf_counter()
            with torch.inference_mode():
                pipe(**call)
            times.append(time.perf_counter() - started)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    fixed = [total - call for total, call in zip(times, inside, strict=False)]
    print(json.dumps({"seconds": times, "fixed": fixed, "peak_mb": peak_mb}))


def measure(kind: str, model: str, args: argparse.Namespace) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--child",
        kind,
        model,
        "--runs",
        str(args.runs),
        "--frames",
        str(args.frames),
        "--size",
        str(args.size),
        "--steps",
        str(args.steps),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


def take_parser(description: str | None) -> argparse.ArgumentParser:
    """The options every tiny-model take benchmark shares: runs and the take's shape."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--frames", type=int, default=9)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=2)
    return parser


def main() -> int:
    parser = take_parser(__doc__)
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--child", nargs=2, metavar=("KIND", "MODEL"))
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.runs, args.frames, args.size, args.steps)
        return 0
    print(
        f"{args.frames} frames at {args.size}x{args.size}, {args.steps} steps, median of {args.runs}"
    )
    print(
        "family    bare s/frame  genvfx s/frame  ratio  fixed s/take  bare peak MB  genvfx peak MB"
    )
    for family in args.families.split(","):
        model = FAMILIES[family]
        bare = measure("bare", model, args)
        ours = measure("genvfx", model, args)
        bare_s = statistics.median(bare["seconds"]) / args.frames
        ours_s = statistics.median(ours["seconds"]) / args.frames
        fixed = statistics.median(ours["fixed"])
        print(
            f"{family:9} {bare_s:12.4f}  {ours_s:14.4f}  {ours_s / bare_s:5.2f}  {fixed:12.3f}  "
            f"{bare['peak_mb']:12.0f}  {ours['peak_mb']:14.0f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
