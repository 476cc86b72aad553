"""Post-processing per frame: genvfx's torch path against oiiotool doing the same work.

Model frames are a synthetic smoke element over black at the tiny LTX built-in's default
size (768x512), in the default view of the built-in OCIO config (what the model sees).
Each is turned into a take frame at 1920x1080 and 3840x2160: back through the inverse view
to linear Rec.709, Lanczos3 resize, a black key (alpha from the brightest channel), half
floats, ZIP-compressed EXR.

- genvfx: `FreeCanvas.element` with its device post (as `genvfx generate` makes it) and the
  EXR write, on a thread pool of one worker per core, as the take writer runs them.
- oiiotool: one process over the frame sequence (`--frames`), every core, the same steps
  (`--ociodisplay:inverse=1`, `--resize:filter=lanczos3`, `--maxchan` for the alpha).
- stages: one frame through genvfx's steps one at a time (colour, resize, alpha, half,
  compression), to show where its time goes.
- EXR writes alone from one thread and from one thread per core: whether compression
  spreads across the cores (OpenImageIO releases the GIL while it writes).

    .venv/bin/python benchmarks/post_speed.py --frames 8
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from synthetic_elements import element

from genvfx.job import Format
from genvfx.media.colour import DEFAULT_CONFIG, check_model_space, to_model_space
from genvfx.media.device_post import DevicePost, key_frame, post_device, to_host, to_working
from genvfx.media.exr import write_exr
from genvfx.media.lanczos import resize
from genvfx.media.matte import MatteSettings
from genvfx.pipeline.canvas import Colour, FreeCanvas

MODEL = Format(768, 512)
OUTPUTS = (Format(1920, 1080), Format(3840, 2160))
WORKING = "lin_rec709"


def model_frames(count: int) -> list[np.ndarray]:
    """Display-referred smoke over black with grain, as a model would return it."""
    view = check_model_space(DEFAULT_CONFIG, None)
    frames = []
    for seed in range(count):
        colour, alpha = element("smoke", MODEL.height, MODEL.width, seed)
        linear = colour * alpha[:, :, None]
        grain = np.random.default_rng(seed).normal(0.0, 0.004, linear.shape)
        linear = np.maximum(linear + grain.astype(np.float32), 0.0)
        frames.append(to_model_space(linear, DEFAULT_CONFIG, WORKING, view))
    return frames


def oiiotool() -> str:
    beside = Path(sys.executable).with_name("oiiotool")
    found = str(beside) if beside.is_file() else shutil.which("oiiotool")
    if found is None:
        raise SystemExit("oiiotool not found beside this Python or on PATH")
    return found


def take_canvas(output: Format) -> FreeCanvas:
    """The canvas `genvfx generate` makes for a t2v take at `output` (black key, half)."""
    view = check_model_space(DEFAULT_CONFIG, None)
    colour = Colour(DEFAULT_CONFIG, WORKING, view, WORKING)
    return FreeCanvas(MODEL, output, colour, MatteSettings("black"), DevicePost(half=True))


def genvfx_rate(frames: list[np.ndarray], output: Format, folder: Path) -> float:
    canvas = take_canvas(output)
    canvas.element(0, frames[0])

    def one(index: int) -> None:
        rgba = canvas.element(index, frames[index])
        write_exr(folder / f"genvfx.{index:04d}.exr", rgba, "zip", "half")

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1)) as pool:
        list(pool.map(one, range(len(frames))))
    return len(frames) / (time.perf_counter() - started)


def oiiotool_rate(frames: list[np.ndarray], output: Format, folder: Path) -> float:
    view = check_model_space(DEFAULT_CONFIG, None)
    for index, frame in enumerate(frames, start=1):
        write_exr(
            folder / f"model.{index:04d}.exr", np.dstack([frame, frame[:, :, :1]]), "none", "float"
        )
    command = [
        oiiotool(),
        "--frames",
        f"1-{len(frames)}",
        str(folder / "model.#.exr"),
        "--ch",
        "R,G,B",
        "--colorconfig",
        DEFAULT_CONFIG,
        f"--ociodisplay:inverse=1:from={WORKING}",
        view.display,
        view.view,
        "--resize:filter=lanczos3",
        f"{output.width}x{output.height}",
        "--dup",
        "--maxchan",
        "--clamp:min=0:max=1",
        "--chnames",
        "A",
        "--chappend",
        "-d",
        "half",
        "--compression",
        "zip",
        "-o",
        str(folder / "oiiotool.#.exr"),
    ]
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return len(frames) / (time.perf_counter() - started)


def stages(frame: np.ndarray, output: Format, folder: Path) -> dict[str, float]:
    """Seconds per step of one frame through genvfx's post, one step at a time."""
    import torch

    view = check_model_space(DEFAULT_CONFIG, None)
    device = torch.device(post_device(None))

    def timed(step):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        result = step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return result, time.perf_counter() - started

    out: dict[str, float] = {}
    rgb, out["colour"] = timed(lambda: to_working(frame, (DEFAULT_CONFIG, view, WORKING), device))
    big, out["resize"] = timed(lambda: resize(rgb, output.width, output.height))
    rgba, out["alpha"] = timed(lambda: key_frame(big, MatteSettings("black")))
    half, out["half"] = timed(lambda: to_host(rgba, True))
    _, out["compression"] = timed(lambda: write_exr(folder / "stage.exr", half, "zip", "half"))
    return out


def compression_rate(rgba: np.ndarray, count: int, workers: int, folder: Path) -> float:
    """Frames/s of the EXR writes alone (half ZIP) from a pool of `workers` threads."""

    def one(index: int) -> None:
        write_exr(folder / f"write.{index:04d}.exr", rgba, "zip", "half")

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one, range(count)))
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=8, help="frames per size (default 8)")
    args = parser.parse_args()
    frames = model_frames(args.frames)
    print(f"post device: {post_device(None)}; cores: {os.cpu_count()}; {args.frames} frames")
    print(
        "| output | genvfx fps | oiiotool fps | ratio | colour | resize | alpha | half | compression |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    rows = []
    for output in OUTPUTS:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            ours = genvfx_rate(frames, output, folder)
            theirs = oiiotool_rate(frames, output, folder)
            steps = stages(frames[0], output, folder)
        total = sum(steps.values())
        shares = " | ".join(f"{100 * s / total:.0f}%" for s in steps.values())
        print(f"| {output} | {ours:.2f} | {theirs:.2f} | {ours / theirs:.1f}x | {shares} |")
        rows.append((output, writes(frames[0], output, len(frames))))
    cores = max(1, os.cpu_count() or 1)
    print(f"\nEXR writes alone (half ZIP), frames/s: | output | 1 thread | {cores} threads |")
    for output, (one, every) in rows:
        print(f"| {output} | {one:.2f} | {every:.2f} |")


def writes(frame: np.ndarray, output: Format, count: int) -> tuple[float, float]:
    """EXR write rates of one take frame from one thread and from one thread per core."""
    canvas = take_canvas(output)
    rgba = canvas.element(0, frame)
    cores = max(1, os.cpu_count() or 1)
    with tempfile.TemporaryDirectory() as tmp:
        return (
            compression_rate(rgba, count, 1, Path(tmp)),
            compression_rate(rgba, count, cores, Path(tmp)),
        )


if __name__ == "__main__":
    main()
