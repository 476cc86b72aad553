"""What `--matte model` costs: a tiny LTX-2 take with the alpha pass against the same take
without it (`--matte none`: the same prompt, seed and frames, so the same generation).

Run: python benchmarks/alpha_pass.py [--runs N] [--frames F] [--size S] [--steps K]

One process loads the model once and makes one untimed take of each kind, then alternates N
timed takes of each (so both see the same load on a shared machine). It reports the median
seconds per frame of each, the alpha pass's own seconds per frame (inside the same takes:
the time spent in the pass's pipeline call), the ratio of the two takes, and the process's
peak resident memory.
"""

from __future__ import annotations

import resource
import statistics
import tempfile
import time

from family_overhead import job_data, take_parser, time_calls


def main() -> int:
    args = take_parser(__doc__).parse_args()

    import torch

    from genvfx.job import GenerationJob
    from genvfx.pipeline import alpha_model
    from genvfx.pipeline.engine import generate
    from genvfx.pipeline.inference import PipelineCache

    torch.set_num_threads(1)
    out = tempfile.mkdtemp(prefix="genvfx-alpha-bench-")
    base = job_data("builtin:tiny-ltx2", out, args.frames, args.size, args.steps)
    jobs = {m: GenerationJob.from_dict({**base, "matte": m}) for m in ("none", "model")}
    cache = PipelineCache()
    in_pass: list[float] = []
    time_calls(alpha_model, "run_with_adapter", in_pass)
    for job in jobs.values():
        generate(job, cache=cache)
    in_pass.clear()
    times: dict[str, list[float]] = {m: [] for m in jobs}
    for _ in range(args.runs):
        for matte, job in jobs.items():
            started = time.perf_counter()
            generate(job, cache=cache)
            times[matte].append(time.perf_counter() - started)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    plain = statistics.median(times["none"]) / args.frames
    matted = statistics.median(times["model"]) / args.frames
    pass_s = statistics.median(in_pass) / args.frames
    print(
        f"{args.frames} frames at {args.size}x{args.size}, {args.steps} steps, "
        f"median of {args.runs}"
    )
    print("matte none s/frame  matte model s/frame  alpha pass s/frame  ratio  peak MB")
    print(f"{plain:18.4f}  {matted:19.4f}  {pass_s:18.4f}  {matted / plain:5.2f}  {peak_mb:7.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
