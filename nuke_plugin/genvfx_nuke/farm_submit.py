"""Submit to farm: write the node's job and have `genvfx farm` make a job bundle of it.

The bundle is what `genvfx farm JOB --chunk N --out BUNDLE/template.yaml` writes (see
docs/farm.md): an Open Job Description template, its parameter values and asset references,
and the take folder reserved for it. `genvfx` is the command `GENVFX_WORKER` names, with its
final word `worker` replaced by `farm ...`, run with the worker's environment.
"""

import json
import os
import subprocess
import time
from typing import Any, Dict, List, NamedTuple, Optional

from genvfx_nuke.worker_client import WorkerError, popen_options, worker_command, worker_environment

FARM_FOLDER = "_farm"
FARM_TIMEOUT = 600.0
"""Seconds `genvfx farm` has to check the job and reserve its take."""


class Bundle(NamedTuple):
    """A written farm bundle: its folder and the job file it was made from."""

    folder: str
    job_file: str


def farm_command(
    worker: List[str], job_file: str, chunk: int, template: str, colour: Dict[str, str]
) -> List[str]:
    """The `genvfx farm` command for a worker command that ends with `worker`."""
    if not worker or worker[-1] != "worker":
        raise WorkerError(
            "GENVFX_WORKER `{}` does not end with `worker`, so the genvfx command for the "
            "farm cannot be made from it".format(" ".join(worker))
        )
    return [
        *worker[:-1],
        "farm",
        job_file,
        "--chunk",
        str(int(chunk)),
        "--out",
        template,
        "--script-colour",
        json.dumps(colour, sort_keys=True),
    ]


def write_bundle(
    job: Dict[str, Any], chunk: int, colour: Dict[str, str], worker: Optional[List[str]] = None
) -> Bundle:
    """Save `job` under `<output root>/<element>/_farm/<time>/` and run `genvfx farm` on it.

    `WorkerError` with genvfx's own message when it refuses the job or cannot be run.
    """
    base = os.path.join(job["output_root"], job["name"], FARM_FOLDER)
    os.makedirs(base, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder = os.path.join(base, stamp)
    number = 1
    while os.path.exists(folder):
        number += 1
        folder = os.path.join(base, "{}-{}".format(stamp, number))
    os.makedirs(folder)
    job_file = os.path.join(folder, "job.json")
    with open(job_file, "w", encoding="utf-8") as handle:
        json.dump(job, handle, indent=2, ensure_ascii=False)
    command = farm_command(
        worker if worker is not None else worker_command(),
        job_file,
        chunk,
        os.path.join(folder, "bundle", "template.yaml"),
        colour,
    )
    try:
        result = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=worker_environment(),
            timeout=FARM_TIMEOUT,
            **popen_options(),
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise WorkerError("cannot run `{}`: {}".format(" ".join(command), exc)) from None
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        raise WorkerError(lines[-1] if lines else "genvfx farm failed")
    return Bundle(os.path.join(folder, "bundle"), job_file)
