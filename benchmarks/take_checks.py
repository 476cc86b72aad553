"""Time of the checks a take goes through after it is made: farm-complete and audit.

`genvfx farm-complete` reads every frame whole and records its size and sha256; `genvfx
audit` re-hashes every frame of every take a script reads. This makes a take of N frames of
WxH half-float RGBA EXRs (zip, smooth noise, like a soft element) with its record, then
times both on it.

Run: python benchmarks/take_checks.py [--frames 100] [--size 1920x1080]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from genvfx.farm.tasks import complete
from genvfx.media.exr import write_exr
from genvfx.scripts.audit import audit_script
from genvfx.take.folder import Take
from genvfx.take.record import TakeRecord, WindowRecord


def make_take(root: Path, frames: int, width: int, height: int) -> Take:
    take = Take(root, "bench", 1)
    take.folder.mkdir(parents=True)
    first, last = 1001, 1000 + frames
    record = TakeRecord(
        folder=take.folder,
        status="queued",
        genvfx_version="bench",
        created="",
        host="",
        job={"prompt": "bench", "seed": 1, "model": "none", "mode": "t2v"},
        job_hash="0123456789abcdef",
        name=take.name,
        version=take.label,
        pattern=take.pattern(last),
        first=first,
        last=last,
        windows=[WindowRecord(first, last, frames, 0, 1)],
    )
    record.write()
    rng = np.random.default_rng(0)
    small = rng.random((height // 16 + 1, width // 16 + 1, 4)).astype(np.float32)
    base = np.kron(small, np.ones((16, 16, 1), np.float32))[:height, :width]
    for frame in range(first, last + 1):
        pixels = np.roll(base, frame, axis=1)
        write_exr(take.frame_path(frame, last), pixels, attributes=record.provenance(frame))
    return take


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--size", default="1920x1080")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        take = make_take(Path(tmp), args.frames, width, height)
        total = sum(p.stat().st_size for p in take.folder.glob("*.exr"))
        started = time.perf_counter()
        complete(take.folder)
        completing = time.perf_counter() - started
        script = Path(tmp) / "comp.nk"
        script.write_text(
            f"Root {{\n inputs 0\n}}\nRead {{\n inputs 0\n file {take.pattern(1000 + args.frames)}"
            f"\n first 1001\n last {1000 + args.frames}\n name Bench\n}}\n"
        )
        started = time.perf_counter()
        audit = audit_script(script)
        auditing = time.perf_counter() - started
        assert audit.generated and audit.generated[0].take_status == "complete"
    print(
        f"{args.frames} frames {width}x{height} half zip ({total / 2**20:.0f} MiB): "
        f"farm-complete {completing:.2f} s ({completing / args.frames * 1000:.0f} ms/frame), "
        f"audit {auditing:.2f} s ({auditing / args.frames * 1000:.0f} ms/frame)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
