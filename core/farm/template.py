"""The Open Job Description template of a farm take: a Generate step of chunks, then Complete.

Each Generate task runs `genvfx generate --job TAKE/job.json --frames A-B --take-dir TAKE`;
the Complete step runs `genvfx farm-complete TAKE`. The template is checked with
`openjd-model` before it is written.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from ..errors import InvalidField, RuntimeFailure
from ..job import GenerationJob
from ..take.folder import Take
from .tasks import JOB_FILE, chunks

TEMPLATE_VERSION = "jobtemplate-2023-09"
_UNSAFE_FOR_TEMPLATE = re.compile(r"['{}\n\r]")


def template(
    job: GenerationJob, take: Take, chunk: int, genvfx: str, template_dir: Path
) -> dict[str, Any]:
    """An Open Job Description job template: a Generate step of chunks, then Complete.

    The take folder is a PATH parameter (so a farm's path mapping applies); its default
    is relative to the template's folder, as Open Job Description requires.
    """
    check_template_inputs(job, chunk, genvfx, template_dir)
    folder = os.path.relpath(take.folder, Path(template_dir).absolute())
    chunk_labels = [str(c) for c in chunks(job.frames, chunk)]
    take_dir = "'{{Param.TakeDir}}'"
    generate = (
        "set -eu\n"
        f"{{{{Param.Genvfx}}}} generate --job {take_dir}/{JOB_FILE} "
        f"--frames '{{{{Task.Param.Chunk}}}}' --take-dir {take_dir}\n"
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
                        {"name": "Chunk", "type": "STRING", "range": chunk_labels}
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
    chunks(job.frames, chunk)
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
