"""LTX-2 IC-LoRA reference: v2v through `LTX2InContextPipeline` with the plate as the reference.

An IC-LoRA (depth, pose, edges, a look: what its publisher trained it on) reads a reference
video in context: the plate's frames are encoded into tokens the generation attends to,
clean, beside the frames being generated. The job names the IC-LoRA (`reference_lora`); it
loads after the job's own LoRAs at weight 1 and stays active for the whole take, which records
it as `generated.passes.reference` (its path and sha256).

`strength` keeps its v2v meaning for the plate as a starting point (0 keeps the plate, 1 starts
from noise); the reference itself is always given whole. References are given at the
generated size: IC-LoRAs trained on downscaled references are not yet supported.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..errors import InvalidField
from ..job import GenerationJob, Mode
from ..models.resolve import ModelSource
from .plan import Plan

PASS = "reference"
FIELD = "reference_lora"


def check_reference(job: GenerationJob, model: ModelSource) -> None:
    """Refuse `reference_lora` where the family or the mode cannot run it."""
    if job.reference_lora is None:
        return
    family = model.family
    if PASS not in family.passes:
        raise InvalidField(
            FIELD,
            job.reference_lora,
            f"no IC-LoRA for {family.label} models; a reference needs LTX-2 (family ltx2)",
        )
    if job.mode is not Mode.V2V:
        raise InvalidField(FIELD, job.reference_lora, "no IC-LoRA unless mode is v2v")


def reference_plan(job: GenerationJob, model: ModelSource, plan: Plan) -> Plan:
    """The plan with the in-context pipeline in place of the family's v2v one."""
    if job.reference_lora is None:
        return plan
    return dataclasses.replace(plan, pipeline_class=model.family.passes[PASS])


def reference_record(model: ModelSource, path: str, sha256: str) -> dict[str, Any]:
    return {PASS: {"pipeline": model.family.passes[PASS], "adapter": path, "sha256": sha256}}
