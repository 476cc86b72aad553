"""What saving a chained window's state costs: `.carry/<first>.npz` written and read back.

Run: python benchmarks/carry_state.py [--size WIDTHxHEIGHT:HELD ...] [--repeat N]

For each generated size and number of held-back frames, a take folder in a temporary
directory gets the state a window hands to the next (HELD frames plus the last one,
float32, random values), written atomically with `save_carry` and read back, checked,
with `read_carry`, as a farm chunk or a resume reads it. Prints the file size and the
median seconds of each, over --repeat runs.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from genvfx.take.carry import Carry, carry_path, read_carry, save_carry

JOB_HASH = "0123456789abcdef"


def measure(width: int, height: int, held: int, repeat: int) -> tuple[float, float, float]:
    """(MiB on disk, median seconds to save, median seconds to read)."""
    rng = np.random.default_rng(1)
    frames = rng.random((held, height, width, 3), dtype=np.float32)
    carry = Carry(frames, frames[-1] if held else rng.random((height, width, 3), np.float32))
    saves, reads = [], []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(repeat):
            started = time.perf_counter()
            save_carry(Path(folder), 1001, 1033, JOB_HASH, carry)
            saves.append(time.perf_counter() - started)
            started = time.perf_counter()
            back = read_carry(Path(folder), 1001, 1033, JOB_HASH, held, (height, width))
            reads.append(time.perf_counter() - started)
            assert back is not None and np.array_equal(back.held, frames)
        size = carry_path(Path(folder), 1001).stat().st_size / 2**20
    return size, statistics.median(saves), statistics.median(reads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--size",
        action="append",
        help="WIDTHxHEIGHT:HELD (default: 832x480:5, Wan 2.1 480p; 1216x704:9, LTX)",
    )
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print("| generated size | held frames | file | save | read |")
    print("|---|---|---|---|---|")
    for item in args.size or ["832x480:5", "1216x704:9"]:
        size, held = item.split(":")
        width, height = (int(v) for v in size.split("x"))
        mib, save, read = measure(width, height, int(held), args.repeat)
        print(f"| {width}x{height} | {held} | {mib:.1f} MiB | {save:.3f} s | {read:.3f} s |")


if __name__ == "__main__":
    main()
