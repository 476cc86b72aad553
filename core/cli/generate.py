"""`genvfx generate`: build one job from flags (or a saved job file) and run it to a take."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from tqdm import tqdm

from ..errors import InvalidField
from ..events import CancelToken, Done, Event, EventSink, Progress, Stage, event_dict
from ..job import MAX_SEED, PATH_FIELDS, FrameRange, GenerationJob, field_specs, parse_json
from ..job.fields import resolve_relative
from . import script_flags


def add_job_flags(parser: argparse.ArgumentParser, renamed: dict[str, str] | None = None) -> None:
    """One option per job field that declares a flag (`renamed`: field -> another spelling)."""
    for name, field_spec in field_specs().items():
        flag = (renamed or {}).get(name, field_spec.flag)
        if flag is None:
            continue
        if field_spec.boolean:
            parser.add_argument(
                flag,
                dest=name,
                help=field_spec.help,
                action=argparse.BooleanOptionalAction,
                default=None,
            )
        else:
            parser.add_argument(
                flag,
                dest=name,
                help=field_spec.help,
                action="append" if field_spec.repeat else "store",
                type=field_spec.cli_type,
                choices=field_spec.choices,
                default=None,
            )


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "generate",
        help="generate one take",
        description="Generate one take: <out>/<name>/vNNN/<name>_vNNN.####.exr plus manifest.json. "
        "Flags override the fields of --job.",
    )
    parser.add_argument("--job", type=Path, help="a saved job (JSON, as --print-job writes it)")
    add_job_flags(parser)
    parser.add_argument(
        "--json", action="store_true", help="print machine-readable events (JSON lines) on stdout"
    )
    parser.add_argument(
        "--print-job",
        action="store_true",
        help="check the job as far as can be without loading weights (model folder, plates, "
        "masks, colour spaces, sizes), print it as JSON and exit",
    )
    script_flags.register(parser)
    parser.set_defaults(run=run)


def build_job(args: argparse.Namespace) -> GenerationJob:
    """The job from --job (if any) with every given flag laid over it, validated.

    Every path ends up absolute: a job file's relative paths are relative to the file's
    folder, a script's to the script's folder, and a flag's to the current folder.
    """
    data: dict[str, Any] = {}
    if args.job is not None:
        args.job = script_flags.mapped_path(args, args.job)
        try:
            raw = args.job.read_bytes()
        except OSError as exc:
            raise InvalidField(
                "job", str(args.job), f"a readable job file ({exc.strerror})"
            ) from None
        try:
            data = parse_json(raw.decode("utf-8"), "job")
        except UnicodeDecodeError as exc:
            raise InvalidField("job", str(args.job), f"a UTF-8 job file ({exc.reason})") from None
        if not isinstance(data, dict):
            raise InvalidField("job", str(args.job), "a JSON object")
        resolve_relative(data, PATH_FIELDS, str(args.job.expanduser().absolute().parent))
    data.update(script_flags.job_fields(args, data))
    for name, field_spec in field_specs().items():
        value = getattr(args, name, None) if field_spec.flag else None
        if value is not None:
            data[name] = value
    if "frames" not in data and isinstance(data.get("plate"), str):
        data["frames"] = str(_plate_range(data["plate"]))
    data.setdefault("output_root", os.environ.get("GENVFX_OUT", "takes"))
    data.setdefault("name", "element")
    if "seed" not in data:
        data["seed"] = secrets.randbelow(MAX_SEED + 1)
    if "ocio_config" not in data and os.environ.get("OCIO"):
        data["ocio_config"] = os.environ["OCIO"]
    return GenerationJob.from_dict(data)


def _plate_range(pattern: str) -> FrameRange:
    """The plate's frames on disk, as the default range (gaps are reported when it is read)."""
    from ..media.plates import frame_range_on_disk

    return frame_range_on_disk(pattern, "plate")


def run(args: argparse.Namespace) -> int:
    job = build_job(args)
    if args.print_job:
        from ..pipeline.prepare import prepare

        prepare(job)
        print(job.to_json())
        return 0
    from ..pipeline.engine import generate

    take = script_flags.take(args, job)
    paths = script_flags.path_mapping(args)
    if job.gpus > 1:
        from .ranks import run_rank

        code = run_rank(job, args, take, paths)
        if code is not None:
            return code
    done = reported(
        args.json,
        lambda report, cancel: generate(
            job, on_event=report, cancel=cancel, take=take, paths=paths
        ),
    )
    script_flags.after(args, done)
    return 0


def reported(json_events: bool, work: Callable[[EventSink, CancelToken], Done]) -> Done:
    """Run `work` with progress on stderr (or JSON events on stdout) and Ctrl-C as cancel."""
    cancel = CancelToken()
    report = JsonReport(cancel) if json_events else TextReport(sys.stderr.isatty())
    previous = signal.getsignal(signal.SIGINT)

    def on_interrupt(_signum: int, _frame: Any) -> None:
        if cancel.cancelled:
            raise KeyboardInterrupt
        cancel.cancel()
        print("genvfx: cancelling after the current step (Ctrl-C again to abort)", file=sys.stderr)

    signal.signal(signal.SIGINT, on_interrupt)
    try:
        done = work(report, cancel)
    except Exception as exc:
        report.failed(exc)
        raise
    finally:
        signal.signal(signal.SIGINT, previous)
    report.finish(done)
    return done


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
