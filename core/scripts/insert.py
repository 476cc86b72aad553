"""Putting a take into a Nuke script: a Read of its frames and a Merge2 (take over plate).

The Read is set so Nuke does not convert the take's colours a second time: the frames are
already in the take's working space, so when that is the script's working space the Read
gets `raw true`; otherwise it gets `colorspace <take's working space>` and Nuke converts
from there (and reports an error, rather than silently shifting colours, if its config
lacks that space). Every value written is quoted with `scripts.nk.quote`, and a frame path
that Nuke's file knob would evaluate (`[ ] $ { } \\ "`) is refused.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidField, InvalidInput
from ..job import MAX_SIDE
from ..job.fields import NAME_PATTERN
from ..take.folder import VERSION_DIR, Take
from ..take.record import TakeRecord
from .colour import NUKE_LINEAR, ScriptColour, script_colour
from .nk import Script, quote
from .nk.edit import Inserted, NewNode, insert_over

_UNSAFE_PATH = re.compile(r'[\[\]${}\\"\x00-\x1f\x7f]')


@dataclass(frozen=True)
class TakeInfo:
    """What a script needs to know about a finished take, from its manifest."""

    folder: Path
    name: str
    version: str
    pattern: str
    first: int
    last: int
    width: int | None
    height: int | None
    working_space: str
    ocio_config: str
    prompt: str
    seed: int | None
    model: str
    weights_hash: str
    job_hash: str


def load_take(folder: Path) -> TakeInfo:
    """The take's facts from its manifest, which is treated as hostile input.

    The name, version and frame pattern must follow the rules a new take follows (the
    pattern is exactly `<name>_<version>.####.exr` in the take's folder), and every text
    must be valid Unicode: anything else is refused, naming the manifest field.
    """
    folder = Path(folder).absolute()
    record = TakeRecord.read(folder)
    if not record.complete:
        raise InvalidField(
            "take", str(folder), f"a complete take (its status is {record.status!r})"
        )
    name = _manifest_field(folder, "take.name", record.name, NAME_PATTERN, "letters, digits")
    version = _manifest_field(folder, "take.version", record.version, VERSION_DIR, "vNNN")
    padding = Take(folder, name, 1).padding(record.last)
    expected = f"{name}_{version}.{'#' * padding}.exr"
    if Path(record.pattern).name != expected or Path(record.pattern).parent.name != version:
        raise InvalidField(
            "take",
            str(folder),
            f"a manifest whose pattern is <folder>/{expected} (it says {record.pattern!r})",
        )
    size = record.generated.get("resized_to") or {}
    seed = record.job.get("seed")
    info = TakeInfo(
        folder=folder,
        name=name,
        version=version,
        pattern=str(folder / expected),
        first=record.first,
        last=record.last,
        width=_side(size.get("width")) if isinstance(size, dict) else None,
        height=_side(size.get("height")) if isinstance(size, dict) else None,
        working_space=str(record.colour.get("working_space", "")),
        ocio_config=str(record.colour.get("ocio_config", "")),
        prompt=str(record.job.get("prompt", "")),
        seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
        model=str(record.model.get("reference", record.job.get("model", ""))),
        weights_hash=str(record.model.get("weights_hash", "")),
        job_hash=record.job_hash,
    )
    for label, value in dataclasses.asdict(info).items():
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidField(
                    "take", str(folder), f"a manifest whose {label} is valid Unicode text"
                ) from None
    return info


def _manifest_field(folder: Path, label: str, value: str, rule: re.Pattern[str], what: str) -> str:
    if not rule.fullmatch(value):
        raise InvalidField(
            "take", str(folder), f"a manifest whose {label} is a take's ({what}; it says {value!r})"
        )
    return value


def _side(value: object) -> int | None:
    """A format side from the manifest: a whole number of pixels, else none is set."""
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_SIDE:
        return value
    return None


def colour_knobs(take: TakeInfo, colour: ScriptColour) -> tuple[tuple[str, str], ...]:
    """`raw true` when the take is already in the script's working space, else `colorspace`.

    Nuke's own colour management (no OCIO) knows only linear Rec.709 as a scene-linear
    space: a take in any other space cannot be read correctly there, and is refused rather
    than read raw as the wrong space.
    """
    if same_space(take, colour):
        return (("raw", "true"),)
    if colour.managed_by_ocio:
        return (("colorspace", quote(take.working_space)),)
    raise InvalidField(
        "take",
        str(take.folder),
        f"a take in linear Rec.709 for a script using Nuke's own colour management (this "
        f"take is in {take.working_space!r}: switch the script to OCIO, or generate with "
        "--working-space lin_rec709)",
    )


def same_space(take: TakeInfo, colour: ScriptColour) -> bool:
    if not take.working_space or colour.working_space is None:
        return False
    if take.working_space == colour.working_space:
        return True
    from ..media.colour import load_config

    if colour.managed_by_ocio and colour.ocio_config is None:
        config_name = take.ocio_config
    else:
        config_name = colour.ocio_config or take.ocio_config
    try:
        config = load_config(config_name)
    except InvalidInput:
        return False
    wanted = config.getColorSpace(take.working_space)
    script_side = NUKE_LINEAR if not colour.managed_by_ocio else colour.working_space
    actual = config.getColorSpace(script_side)
    return wanted is not None and actual is not None and wanted.getName() == actual.getName()


def take_nodes(take: TakeInfo, colour: ScriptColour) -> tuple[NewNode, NewNode]:
    if _UNSAFE_PATH.search(take.pattern):
        raise InvalidField(
            "take",
            str(take.folder),
            'a take path without [ ] $ { } \\ " or control characters (Nuke would evaluate '
            "them in the file knob)",
        )
    knobs: list[tuple[str, str]] = [
        ("file_type", "exr"),
        ("file", quote(take.pattern)),
    ]
    if take.width and take.height:
        w, h = int(take.width), int(take.height)
        knobs.append(("format", quote(f"{w} {h} 0 0 {w} {h} 1 ")))
    knobs += [
        ("first", str(take.first)),
        ("last", str(take.last)),
        ("origfirst", str(take.first)),
        ("origlast", str(take.last)),
        ("origset", "true"),
        *colour_knobs(take, colour),
        ("label", quote(f"genvfx {take.name} {take.version}")),
        ("addUserKnob", "{20 genvfx}"),
    ]
    for key, label, value in (
        ("take", "take", str(take.folder)),
        ("prompt", "prompt", take.prompt),
        ("model", "model", take.model),
        ("weights_hash", "weights hash", take.weights_hash),
        ("seed", "seed", "" if take.seed is None else str(take.seed)),
        ("job_hash", "job hash", take.job_hash),
        ("working_space", "working space", take.working_space),
    ):
        knobs.append(("addUserKnob", "{1 genvfx_" + key + " l " + quote(label) + " +DISABLED}"))
        knobs.append(("genvfx_" + key, quote(value)))
    read = NewNode("Read", tuple(knobs), f"genvfx_{take.name}_{take.version}")
    merge = NewNode(
        "Merge2",
        (("label", quote(f"genvfx {take.name} {take.version} over plate")),),
        f"genvfx_merge_{take.name}_{take.version}",
    )
    return read, merge


def insert_take(script_path: Path, node_name: str, take_dir: Path) -> tuple[Script, Inserted]:
    """The script with the take inserted over `node_name` (nothing is written here)."""
    path = Path(script_path)
    if not path.is_file():
        raise InvalidField("script", str(path), "an existing .nk file")
    script = Script.read(path)
    target = script.find(node_name)
    take = load_take(take_dir)
    read, merge = take_nodes(take, script_colour(script, path))
    return script, insert_over(script, target, read, merge)


def write_new(path: Path, data: bytes) -> None:
    """Write a file that must not exist yet (exclusive create), via a temporary name."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    tmp.write_bytes(data)
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise InvalidField("out", str(path), "a file that does not exist yet") from None
    except OSError:
        try:
            with open(path, "xb") as handle:
                handle.write(data)
        except FileExistsError:
            raise InvalidField("out", str(path), "a file that does not exist yet") from None
    finally:
        tmp.unlink(missing_ok=True)


def replace_with_backup(path: Path, data: bytes) -> Path:
    """Keep the original as `<name>.genvfx-backup-N.nk`, then replace the script atomically."""
    path = Path(path)
    number = 1
    while True:
        backup = path.with_name(f"{path.stem}.genvfx-backup-{number}{path.suffix}")
        try:
            with open(backup, "xb") as handle, open(path, "rb") as original:
                shutil.copyfileobj(original, handle)
            break
        except FileExistsError:
            number += 1
    shutil.copystat(path, backup)
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return backup
