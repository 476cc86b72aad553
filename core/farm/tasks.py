"""Farm jobs: one take, generated window by window by independent tasks, then completed.

`reserve` checks the whole job and reserves its take folder before anything is queued,
writing the job (`job.json`) and a not-complete manifest there. Each task then runs
`genvfx generate --job TAKE/job.json --frames A-B --take-dir TAKE`: frames already on disk
are kept (a finished window re-run does nothing) and every frame appears atomically. The
last step, `genvfx farm-complete TAKE`, checks that every frame exists and only then marks
the manifest complete. `template` writes all of this as an Open Job Description job.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
import time
from pathlib import Path
from typing import Any

from ..errors import InvalidField, RuntimeFailure
from ..job.job import FrameRange, GenerationJob
from ..take.folder import VERSION_DIR, Take, reserve_take

JOB_FILE = "job.json"
TEMPLATE_VERSION = "jobtemplate-2023-09"
_UNSAFE_FOR_TEMPLATE = re.compile(r"['{}\n\r]")


def windows(frames: FrameRange, chunk: int) -> list[FrameRange]:
    """Consecutive windows of at most `chunk` frames covering `frames`."""
    if chunk < 1:
        raise InvalidField("chunk", chunk, "a whole number of frames, 1 or more")
    return [
        FrameRange(first, min(first + chunk - 1, frames.last))
        for first in range(frames.first, frames.last + 1, chunk)
    ]


def take_at(folder: Path) -> Take:
    """The take whose version folder is `folder` (`<root>/<name>/vNNN`), which must exist."""
    folder = Path(folder).absolute()
    match = VERSION_DIR.match(folder.name)
    if match is None or not folder.is_dir():
        raise InvalidField("take-dir", str(folder), "an existing take folder <root>/<name>/vNNN")
    take = Take(folder.parent.parent, folder.parent.name, int(match.group(1)))
    if take.read_manifest() is None:
        raise InvalidField("take-dir", str(folder), "a take folder holding manifest.json")
    return take


def window_take(folder: Path, job: GenerationJob) -> Take:
    """The reserved take a window job writes into; its frames must lie inside the take's."""
    take = take_at(folder)
    manifest = take.read_manifest() or {}
    first, last = manifest.get("first"), manifest.get("last")
    if not isinstance(first, int) or not isinstance(last, int):
        raise InvalidField("take-dir", str(folder), "a take manifest with first and last frames")
    if not (first <= job.frames.first and job.frames.last <= last):
        raise InvalidField("frames", str(job.frames), f"a window inside the take's {first}-{last}")
    if take.padding(job.frames.last) != take.padding(last):
        raise InvalidField("frames", str(job.frames), "a window with the take's frame padding")
    return take


def reserve(job: GenerationJob) -> Take:
    """Check the job fully, reserve its take folder, write job.json and a queued manifest.

    A plate job's region of interest is found once here, over the whole shot, and pinned in
    job.json: every window then generates the same part of the plate.
    """
    from ..pipeline.canvas import PlateCanvas
    from ..pipeline.engine import manifest_for, prepare

    if Take(Path("."), "x", 1).padding(job.frames.first) != Take(Path("."), "x", 1).padding(
        job.frames.last
    ):
        raise InvalidField("frames", str(job.frames), "frame numbers of one padding width")
    prepared = prepare(job)
    if isinstance(prepared.canvas, PlateCanvas) and job.region is None:
        region = prepared.canvas.fit.region
        job = job.replace(region=[region.x, region.y, region.width, region.height])
        prepared = dataclasses.replace(prepared, job=job)
    weights = prepared.model.weights_hash()
    take = reserve_take(Path(job.output_root), job.name)
    (take.folder / JOB_FILE).write_text(job.to_json() + "\n", encoding="utf-8")
    take.write_manifest({**manifest_for(prepared, take, weights), "status": "queued"})
    return take


def complete(folder: Path) -> dict[str, Any]:
    """Mark the take complete when every frame of its range exists; else fail naming them."""
    take = take_at(folder)
    manifest = take.read_manifest() or {}
    first, last = manifest.get("first"), manifest.get("last")
    if not isinstance(first, int) or not isinstance(last, int):
        raise InvalidField("take-dir", str(folder), "a take manifest with first and last frames")
    frames = FrameRange(first, last)
    paths = [take.frame_path(f, last) for f in frames]
    missing = [f for f, p in zip(frames, paths, strict=True) if not p.is_file()]
    if missing:
        shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
        raise RuntimeFailure(f"take {take.folder} is missing {len(missing)} frame(s): {shown}")
    if manifest.get("complete") is True:
        return manifest
    manifest.update(
        complete=True,
        status="complete",
        finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        frames=[
            {"frame": f, "file": p.name, "index": i}
            for i, (f, p) in enumerate(zip(frames, paths, strict=True))
        ],
    )
    take.write_manifest(manifest)
    return manifest


def template(
    job: GenerationJob, take: Take, chunk: int, genvfx: str, template_dir: Path
) -> dict[str, Any]:
    """An Open Job Description job template: a Generate step of windows, then Complete.

    The take folder is a PATH parameter (so a farm's path mapping applies); its default
    is relative to the template's folder, as Open Job Description requires.
    """
    check_template_inputs(job, chunk, genvfx, template_dir)
    folder = os.path.relpath(take.folder, Path(template_dir).absolute())
    window_labels = [str(w) for w in windows(job.frames, chunk)]
    take_dir = "'{{Param.TakeDir}}'"
    generate = (
        "set -eu\n"
        f"{{{{Param.Genvfx}}}} generate --job {take_dir}/{JOB_FILE} "
        f"--frames '{{{{Task.Param.Window}}}}' --take-dir {take_dir}\n"
    )
    finish = f"set -eu\n{{{{Param.Genvfx}}}} farm-complete {take_dir}\n"
    return {
        "specificationVersion": TEMPLATE_VERSION,
        "name": f"genvfx {take.name} {take.label}",
        "parameterDefinitions": [
            {
                "name": "TakeDir",
                "type": "PATH",
                "objectType": "DIRECTORY",
                "dataFlow": "INOUT",
                "default": folder,
                "description": "The reserved take folder (job.json and manifest.json inside).",
            },
            {
                "name": "Genvfx",
                "type": "STRING",
                "default": genvfx,
                "description": "How a worker runs genvfx, e.g. /opt/genvfx/bin/genvfx.",
            },
        ],
        "steps": [
            {
                "name": "Generate",
                "parameterSpace": {
                    "taskParameterDefinitions": [
                        {"name": "Window", "type": "STRING", "range": window_labels}
                    ]
                },
                "script": _bash_script(generate),
            },
            {
                "name": "Complete",
                "dependencies": [{"dependsOn": "Generate"}],
                "script": _bash_script(finish),
            },
        ],
    }


def check_template_inputs(job: GenerationJob, chunk: int, genvfx: str, template_dir: Path) -> None:
    """Everything `template` would refuse, checked before a take folder is reserved."""
    windows(job.frames, chunk)
    if not Path(template_dir).is_dir():
        raise InvalidField("out", str(template_dir), "a path in an existing folder")
    takes = str(Path(job.output_root) / job.name)
    for label, value in (("output_root", takes), ("genvfx", genvfx)):
        if _UNSAFE_FOR_TEMPLATE.search(value):
            raise InvalidField(label, value, "text without quotes, braces or line breaks")


def _bash_script(body: str) -> dict[str, Any]:
    return {
        "actions": {"onRun": {"command": "bash", "args": ["{{Task.File.Run}}"]}},
        "embeddedFiles": [{"name": "Run", "type": "TEXT", "data": body}],
    }


def validate(document: dict[str, Any]) -> None:
    """Decode with the Open Job Description model; raise naming what is wrong."""
    from openjd.model import DecodeValidationError, decode_job_template

    try:
        decode_job_template(template=document)
    except DecodeValidationError as exc:
        raise RuntimeFailure(f"the job template does not validate: {exc}") from None


def write_template(document: dict[str, Any], out: Path) -> None:
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def text_block(dumper: yaml.SafeDumper, value: str) -> Any:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text_block)
    text = yaml.dump(document, Dumper=Dumper, sort_keys=False, width=1000)
    try:
        with open(out, "x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        raise InvalidField("out", str(out), "a file that does not exist yet") from None


def default_command() -> str:
    """`genvfx` as this machine runs it, for the template's default."""
    import shutil
    import sys

    found = shutil.which("genvfx")
    return found or f"{shlex.quote(sys.executable)} -m genvfx"
