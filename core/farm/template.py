"""The Open Job Description template of a farm take: its chunks are generated, then Complete.

Each chunk runs `genvfx generate --job TAKE/job.json --frames A-B --take-dir TAKE`: as the
tasks of one Generate step, or, where each chunk continues the one before, as a chain of
steps. The Complete step runs `genvfx farm-complete TAKE`. The template is checked with
`openjd-model` before it is written.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import InvalidField, RuntimeFailure
from ..job import FrameRange, GenerationJob
from ..take.folder import Take
from .tasks import JOB_FILE, check_chunk

TEMPLATE_VERSION = "jobtemplate-2023-09"
_UNSAFE_FOR_TEMPLATE = re.compile(r"['{}\n\r]")


def template(
    job: GenerationJob,
    take: Take,
    tasks: list[FrameRange],
    ordered: bool,
    genvfx: str,
    gpu_memory_mib: int | None,
) -> dict[str, Any]:
    """An Open Job Description job template: Generate the chunks `tasks`, then Complete.

    `ordered` (chained windows): each chunk starts from the state the chunk before it left,
    so each chunk is a step of its own that depends on the previous chunk's step; otherwise
    one Generate step holds every chunk as a task, and the farm runs them in parallel.

    `TakeDir` is a PATH parameter (so a farm's storage profile or job attachments apply);
    left empty, as `openjd run` leaves it, the tasks use the take folder this template was
    made for. Open Job Description only allows defaults inside the template's folder, and a
    take lives elsewhere. Each task hands the session's path mapping rules, when it has any,
    to genvfx, which maps the take folder and the job's plate, mask and config through them.
    `gpu_memory_mib`: the GPU memory a worker needs on each of the job's `gpus` GPUs (None:
    the job runs on the CPU); several GPUs each hold the whole model.
    """
    check_template_inputs(job, 1, genvfx)
    prelude = (
        "set -eu\n"
        "take='{{Param.TakeDir}}'\n"
        f'[ -n "$take" ] || take={shlex.quote(str(take.folder))}\n'
        "rules=()\n"
        "if [ '{{Session.HasPathMappingRules}}' = true ]; then\n"
        "  rules=(--path-mapping-rules '{{Session.PathMappingRulesFile}}')\n"
        "fi\n"
    )
    mapping = '${rules[@]+"${rules[@]}"}'

    def generate(chunk: str) -> str:
        return (
            prelude + f'{{{{Param.Genvfx}}}} generate --job "$take/{JOB_FILE}" '
            f"--frames '{chunk}' --take-dir \"$take\" {mapping}\n"
        )

    finish = prelude + f'{{{{Param.Genvfx}}}} farm-complete "$take" {mapping}\n'
    if ordered:
        steps = _chained_steps(tasks, generate)
    else:
        steps = [
            {
                "name": "Generate",
                "parameterSpace": {
                    "taskParameterDefinitions": [
                        {"name": "Chunk", "type": "STRING", "range": [str(c) for c in tasks]}
                    ]
                },
                "script": _bash_script(generate("{{Task.Param.Chunk}}")),
            }
        ]
    if gpu_memory_mib is not None:
        for step in steps:
            step["hostRequirements"] = {
                "amounts": [
                    {"name": "amount.worker.gpu", "min": job.gpus},
                    {"name": "amount.worker.gpu.memory", "min": gpu_memory_mib},
                ]
            }
    complete = {
        "name": "Complete",
        "dependencies": [{"dependsOn": step["name"]} for step in steps],
        "script": _bash_script(finish),
    }
    return {
        "specificationVersion": TEMPLATE_VERSION,
        "name": f"genvfx {take.name} {take.label}",
        "description": f"genvfx generate --take-dir {take.folder}, then genvfx farm-complete",
        "parameterDefinitions": [
            {
                "name": "TakeDir",
                "type": "PATH",
                "objectType": "DIRECTORY",
                "dataFlow": "INOUT",
                "default": "",
                "description": "The reserved take folder (job.json and manifest.json inside); "
                f"empty: {take.folder}",
            },
            {
                "name": "Genvfx",
                "type": "STRING",
                "default": genvfx,
                "description": "How a worker runs genvfx, e.g. /opt/genvfx/bin/genvfx.",
            },
        ],
        "steps": [*steps, complete],
    }


def _chained_steps(tasks: list[FrameRange], generate: Callable[[str], str]) -> list[dict[str, Any]]:
    """One step per chunk (`Generate 1001-1024`), each depending on the one before."""
    steps: list[dict[str, Any]] = []
    for chunk in tasks:
        step: dict[str, Any] = {
            "name": f"Generate {chunk}",
            "script": _bash_script(generate(str(chunk))),
        }
        if steps:
            step["dependencies"] = [{"dependsOn": steps[-1]["name"]}]
        steps.append(step)
    return steps


def check_template_inputs(job: GenerationJob, chunk: int, genvfx: str) -> None:
    """Everything `template` would refuse, checked before a take folder is reserved."""
    check_chunk(chunk)
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


PARAMETER_VALUES = "parameter_values.yaml"
ASSET_REFERENCES = "asset_references.yaml"


def bundle_files(out: Path) -> list[Path]:
    """The files of the job bundle whose template is `out`: none may exist yet."""
    folder = Path(out).parent
    return [Path(out), folder / PARAMETER_VALUES, folder / ASSET_REFERENCES]


def make_bundle_folder(out: Path) -> list[Path]:
    """Refuse a bundle whose files exist, then make its folder (before a take is reserved).

    Returns the folders it created, deepest first, for `remove_empty` after a refusal.
    """
    for path in bundle_files(out):
        if path.exists():
            raise InvalidField("out", str(path), "a bundle file that does not exist yet")
    folder = Path(out).absolute().parent
    created = [p for p in (folder, *folder.parents) if not p.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidField(
            "out", str(out), f"a path whose folder can be made ({exc.strerror})"
        ) from None
    return created


def remove_empty(folders: list[Path]) -> None:
    """Remove folders `make_bundle_folder` made that are still empty (deepest first)."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def write_bundle(document: dict[str, Any], out: Path, job: GenerationJob, take: Take) -> None:
    """A job bundle folder as Deadline Cloud reads it: template, parameter values, assets.

    `parameter_values.yaml` names the take folder (so `deadline bundle submit` needs no
    `-p`); `asset_references.yaml` lists the folders a task reads (plate, mask, OCIO config)
    for job attachments. The folder is created as needed.
    """
    template_path, values_path, assets_path = bundle_files(out)
    defaults = {p["name"]: p.get("default") for p in document["parameterDefinitions"]}
    values = {
        "parameterValues": [
            {"name": "TakeDir", "value": str(take.folder)},
            {"name": "Genvfx", "value": defaults["Genvfx"]},
        ]
    }
    inputs = sorted({str(Path(p).parent) for p in (job.plate, job.mask) if p})
    files = [job.ocio_config] if job.ocio_config and Path(job.ocio_config).is_file() else []
    assets = {
        "assetReferences": {
            "inputs": {"filenames": files, "directories": inputs},
            "outputs": {"directories": []},
            "referencedPaths": [],
        }
    }
    _write_yaml(document, template_path)
    _write_yaml(values, values_path)
    _write_yaml(assets, assets_path)


def _write_yaml(document: dict[str, Any], out: Path) -> None:
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
