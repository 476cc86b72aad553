"""`genvfx generate`: build one job from flags (or a saved job file) and run it to a take."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from tqdm import tqdm

from ..errors import InvalidField
from ..events import CancelToken, Done, Event, Progress, Stage, event_dict
from ..job.job import COMPRESSIONS, DTYPES, MAX_SEED, MODES, PIXEL_TYPES, FrameRange, GenerationJob
from . import script_flags


@dataclass(frozen=True)
class Flag:
    """One command-line flag and the job field it fills."""

    flag: str
    field: str
    help: str
    type: Callable[[str], Any] = str
    choices: tuple[str, ...] | None = None
    boolean: bool = False


FLAGS: tuple[Flag, ...] = (
    Flag("--prompt", "prompt", "what to generate"),
    Flag("--negative", "negative_prompt", "what to steer away from"),
    Flag("--model", "model", "model folder, a name under GENVFX_MODELS, or builtin:tiny-ltx"),
    Flag("--family", "family", "model family when the folder does not say (ltx, wan, cogvideox)"),
    Flag("--mode", "mode", "generation mode", choices=MODES),
    Flag("--frames", "frames", "frame range FIRST-LAST, e.g. 1001-1100 (default: the plate's)"),
    Flag("--fps", "fps", "frames per second (default: the model's native rate)", float),
    Flag("--format", "format", "output size WIDTHxHEIGHT (default: the plate's, else the model's)"),
    Flag("--seed", "seed", f"random seed 0-{MAX_SEED} (default: a new random seed)", int),
    Flag("--steps", "steps", "denoising steps (default: the model family's)", int),
    Flag("--guidance", "guidance", "guidance scale (default: the model family's)", float),
    Flag("--strength", "strength", "v2v/inpaint strength: 0 keeps the plate, 1 ignores it", float),
    Flag("--plate", "plate", "plate frames, with #### or %%04d for the frame number"),
    Flag("--plate-layer", "plate_layer", "plate layer to read (default rgba)"),
    Flag(
        "--plate-space",
        "plate_space",
        "OCIO colour space of the plate files (default: the working space)",
    ),
    Flag(
        "--region", "region", "X,Y,W,H plate box to generate in (default: the mask's box + margin)"
    ),
    Flag("--mask", "mask", "mask frames (white = generate), with #### or %%04d"),
    Flag("--condition-frame", "condition_frame", "i2v: plate frame that starts the shot", int),
    Flag(
        "--model-size",
        "model_size",
        "pixel budget the model generates at, WIDTHxHEIGHT (default: the family's size)",
    ),
    Flag("--window", "window", "frames per generation window (default: the model's most)", int),
    Flag("--overlap", "overlap", "frames shared by consecutive windows", int),
    Flag("--margin", "margin", "pixels of plate context around the mask's box", int),
    Flag("--feather", "feather", "inpaint: pixels the alpha softens inside the mask edge", float),
    Flag("--compression", "compression", "EXR compression (default zip)", choices=COMPRESSIONS),
    Flag("--pixel-type", "pixel_type", "EXR pixel type (default half)", choices=PIXEL_TYPES),
    Flag("--working-space", "working_space", "OCIO colour space of the take (default lin_rec709)"),
    Flag("--model-space", "model_space", "OCIO colour space of model output (default srgb_tx)"),
    Flag(
        "--ocio-config",
        "ocio_config",
        "OCIO config file or ocio:// name (default: $OCIO, else built-in)",
    ),
    Flag("--cpu-offload", "cpu_offload", "keep model parts on the CPU until used", boolean=True),
    Flag("--vae-tiling", "vae_tiling", "decode in tiles to save GPU memory", boolean=True),
    Flag("--device", "device", "torch device: cpu, cuda, cuda:N (default: cuda if available)"),
    Flag(
        "--dtype",
        "dtype",
        "torch dtype (default: bfloat16 on CUDA, float32 on CPU)",
        choices=DTYPES,
    ),
    Flag(
        "--allow-network",
        "allow_network",
        "allow fetching a hub id (off: fully offline)",
        boolean=True,
    ),
    Flag("--out", "output_root", "output root folder; takes go in OUT/NAME/vNNN (default ./takes)"),
    Flag("--name", "name", "element name (default element)"),
)


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "generate",
        help="generate one take",
        description="Generate one take: <out>/<name>/vNNN/<name>_vNNN.####.exr plus manifest.json. "
        "Flags override the fields of --job.",
    )
    parser.add_argument("--job", type=Path, help="a saved job (JSON, as --print-job writes it)")
    for flag in FLAGS:
        if flag.boolean:
            parser.add_argument(
                flag.flag,
                dest=flag.field,
                help=flag.help,
                action=argparse.BooleanOptionalAction,
                default=None,
            )
        else:
            parser.add_argument(
                flag.flag,
                dest=flag.field,
                help=flag.help,
                type=flag.type,
                choices=flag.choices,
                default=None,
            )
    parser.add_argument(
        "--json", action="store_true", help="print machine-readable events (JSON lines) on stdout"
    )
    parser.add_argument(
        "--print-job", action="store_true", help="print the validated job as JSON and exit"
    )
    script_flags.register(parser)
    parser.set_defaults(run=run)


def build_job(args: argparse.Namespace) -> GenerationJob:
    """The job from --job (if any) with every given flag laid over it, validated."""
    data: dict[str, Any] = {}
    if args.job is not None:
        try:
            data = json.loads(args.job.read_text(encoding="utf-8"))
        except OSError as exc:
            raise InvalidField(
                "job", str(args.job), f"a readable job file ({exc.strerror})"
            ) from None
        except ValueError as exc:
            raise InvalidField("job", str(args.job), f"a JSON job file ({exc})") from None
        if not isinstance(data, dict):
            raise InvalidField("job", str(args.job), "a JSON object")
    data.update(script_flags.job_fields(args, data))
    for flag in FLAGS:
        value = getattr(args, flag.field)
        if value is not None:
            data[flag.field] = value
    if "frames" not in data and isinstance(data.get("plate"), str):
        data["frames"] = str(_plate_range(data["plate"]))
    data.setdefault("output_root", os.environ.get("GENVFX_OUT", "takes"))
    data.setdefault("name", "element")
    if "seed" not in data:
        data["seed"] = secrets.randbelow(MAX_SEED + 1)
    if "ocio_config" not in data and os.environ.get("OCIO"):
        data["ocio_config"] = os.environ["OCIO"]
    data["output_root"] = str(Path(data["output_root"]).expanduser().absolute())
    return GenerationJob.from_dict(data)


def _plate_range(pattern: str) -> FrameRange:
    """The plate's frames on disk, as the default range (gaps are reported when it is read)."""
    from ..media.plates import frame_range_on_disk

    return frame_range_on_disk(pattern, "plate")


def run(args: argparse.Namespace) -> int:
    job = build_job(args)
    if args.print_job:
        print(job.to_json())
        return 0
    from ..pipeline.engine import generate

    cancel = CancelToken()
    report = JsonReport(cancel) if args.json else TextReport(sys.stderr.isatty())
    previous = signal.getsignal(signal.SIGINT)

    def on_interrupt(_signum: int, _frame: Any) -> None:
        if cancel.cancelled:
            raise KeyboardInterrupt
        cancel.cancel()
        print("genvfx: cancelling after the current step (Ctrl-C again to abort)", file=sys.stderr)

    signal.signal(signal.SIGINT, on_interrupt)
    try:
        done = generate(job, on_event=report, cancel=cancel, take=script_flags.take(args, job))
    except Exception as exc:
        report.failed(exc)
        raise
    finally:
        signal.signal(signal.SIGINT, previous)
    report.finish(done)
    script_flags.after(args, done)
    return 0


class JsonReport:
    """Events as JSON lines on stdout, ending with `done`, `error` or `cancelled`.

    If the reader goes away (a closed pipe), nobody is left to use the take: the job is
    cancelled after the current step.
    """

    def __init__(self, cancel: CancelToken) -> None:
        self.cancel = cancel

    def __call__(self, event: Event) -> None:
        self._emit(event_dict(event))

    def failed(self, exc: BaseException) -> None:
        kind = "cancelled" if getattr(exc, "exit_code", 1) == 130 else "error"
        self._emit({"event": kind, "message": str(exc)})

    def finish(self, done: Done) -> None:
        self._emit(event_dict(done))

    def _emit(self, data: dict[str, Any]) -> None:
        try:
            print(json.dumps(data), flush=True)
        except BrokenPipeError:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            self.cancel.cancel()


class TextReport:
    """Stages on stderr, a progress bar when stderr is a terminal, the take's path on stdout.

    The bar counts the denoising steps of the current window and shows the frames written
    so far; a stage message ends it, and the next window's steps start a new one.
    """

    BAR_FORMAT = (
        "{desc}: {percentage:3.0f}%|{bar}| step {n}/{total}{postfix} [{elapsed}<{remaining}]"
    )

    def __init__(self, interactive: bool, stream: TextIO | None = None) -> None:
        self.interactive = interactive
        self.stream = stream if stream is not None else sys.stderr
        self._bar: tqdm[Any] | None = None

    def __call__(self, event: Event) -> None:
        if isinstance(event, Stage):
            self._end_bar()
            print(f"genvfx: {event.message}", file=self.stream, flush=True)
        elif isinstance(event, Progress):
            self._progress(event)

    def _progress(self, event: Progress) -> None:
        if self._bar is None or self._bar.total != event.total_steps:
            self._end_bar()
            self._bar = tqdm(
                total=event.total_steps,
                desc="genvfx",
                file=self.stream,
                bar_format=self.BAR_FORMAT,
                dynamic_ncols=True,
                disable=not self.interactive,
            )
        bar = self._bar
        bar.set_postfix_str(f"frames {event.frames_done}/{event.frames_total}", refresh=False)
        # tqdm skips a draw within 0.1 s of the last: a step skipped so would stay unseen
        # for the whole next step.
        if not bar.update(event.step - bar.n):
            bar.refresh()

    def _end_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def failed(self, exc: BaseException) -> None:
        self._end_bar()

    def finish(self, done: Done) -> None:
        self._end_bar()
        print(f"genvfx: take {done.version} complete: {len(done.frames)} frames", file=self.stream)
        print(done.take_dir)
