"""`genvfx matte`: key any sequence (a stock element, a take made with --matte none).

The same matting a generation uses (`media.matte`), on frames already on disk: the result is
a new versioned take of premultiplied RGBA EXRs with the input's frame numbers and format,
and a take record saying what was keyed and how. Every input is checked before the take's
folder is reserved, so a refused command writes nothing.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path
from typing import Any

from .. import __version__
from ..job import FrameRange, Matte
from ..job import fields as f
from ..media.exr import ATTRIBUTE_PREFIX, write_exr
from ..media.matte import MatteSettings, key
from ..media.plates import frame_range_on_disk, open_plate
from ..take.folder import reserve_take
from ..take.record import TakeRecord, WindowRecord, now

BACKGROUNDS = (Matte.BLACK.value, Matte.GREEN.value, Matte.BLUE.value)


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "matte",
        help="pull an alpha off black, green or blue and write a new take",
        description="Key IN_PATTERN (#### or %%04d for the frame number) off its background "
        "and write premultiplied RGBA EXRs to OUT/NAME/vNNN with the input's frame numbers "
        "and format.",
    )
    parser.add_argument("pattern", metavar="IN_PATTERN")
    parser.add_argument("--background", required=True, help="black, green or blue")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR")
    parser.add_argument("--name", required=True)
    parser.add_argument("--frames", help="FIRST-LAST (default: every frame on disk)")
    parser.add_argument("--gain", type=float, default=1.0, help="alpha gain (default 1)")
    parser.add_argument("--gamma", type=float, default=1.0, help="alpha gamma (default 1)")
    parser.add_argument("--choke", type=float, default=0.0, help="pixels to erode (default 0)")
    parser.add_argument("--feather", type=float, default=0.0, help="pixels to soften (default 0)")
    parser.add_argument(
        "--working-space",
        default="lin_rec709",
        help="the colour space the frames are in, kept as it is (default lin_rec709)",
    )
    parser.set_defaults(run=run)


def settings_from(args: argparse.Namespace) -> MatteSettings:
    """The matte the flags ask for; a bad value names its flag."""
    background = f.choice(BACKGROUNDS)("background", args.background)
    return MatteSettings(
        background,
        gain=f.number(0.0, 100.0, low_open=True)("gain", args.gain),
        gamma=f.number(0.1, 10.0)("gamma", args.gamma),
        choke=f.number(0.0, 1000.0)("choke", args.choke),
        feather=f.number(0.0, 1000.0)("feather", args.feather),
    )


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    name = f.element_name("name", args.name)
    working_space = f.text(allow_empty=False)("working_space", args.working_space)
    if args.frames is not None:
        frames = f.frames("frames", args.frames)
    else:
        frames = frame_range_on_disk(args.pattern)
    source = open_plate(args.pattern, frames)
    info = source.info
    started = time.monotonic()
    take = reserve_take(args.out, name)
    record = TakeRecord(
        folder=take.folder,
        status="running",
        genvfx_version=__version__,
        created=now(),
        host=platform.node(),
        job={"source": args.pattern, "frames": {"first": frames.first, "last": frames.last}},
        job_hash="",
        name=take.name,
        version=take.label,
        pattern=take.pattern(frames.last),
        first=frames.first,
        last=frames.last,
        windows=[WindowRecord(frames.first, frames.last, len(frames), 0, 0)],
        generated={"resized_to": {"width": info.format.width, "height": info.format.height}},
        placement={
            "kind": "keyed sequence",
            "source": args.pattern,
            "format": {"width": info.format.width, "height": info.format.height},
        },
        colour={"working_space": working_space},
        matte=settings.to_dict(),
    )
    record.write()
    try:
        _key_frames(source, frames, settings, record, take)
    except BaseException as exc:
        record.mark_ended("failed", str(exc) or type(exc).__name__)
        raise
    record.mark_complete(time.monotonic() - started)
    print(take.folder)
    print(f"genvfx: keyed {len(frames)} frame(s) off {settings.method}", file=sys.stderr)
    return 0


def _key_frames(
    source: Any, frames: FrameRange, settings: MatteSettings, record: TakeRecord, take: Any
) -> None:
    for frame in frames:
        rgba = key(source.read(frame)[:, :, :3], settings)
        attributes = {
            ATTRIBUTE_PREFIX + "matte": settings.method,
            ATTRIBUTE_PREFIX + "source": source.path(frame),
            ATTRIBUTE_PREFIX + "frame": frame,
            ATTRIBUTE_PREFIX + "take": f"{take.name}/{take.label}",
            ATTRIBUTE_PREFIX + "version": __version__,
        }
        write_exr(
            take.frame_path(frame, record.last),
            rgba,
            attributes=attributes,
            origin=source.info.display_origin,
        )
