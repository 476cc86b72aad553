"""One take on several GPUs of one machine: diffusers' context parallelism over N ranks.

Every rank runs the whole pipeline on its own GPU; inside the transformer each holds a
1/N slice of the video's tokens (Ulysses: attention heads are exchanged all-to-all, so N
must divide the head count; ring: key/value slices pass around the ranks, which needs an
attention backend that returns the softmax statistics). Rank 0 reserves the take and writes
it; the others only compute (`pipeline.follower`). `cli.ranks` starts the ranks.

`check_plan` reads only the model folder's configs and diffusers' registries, so a family
without a parallel plan or a head count N cannot split is refused wherever the job is
checked (a farm submission too); `check_devices` runs where the ranks will start.

`GENVFX_TEST_PARALLEL=gloo` is for tests only: it lets N ranks run on the CPU over gloo.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidField, RuntimeFailure

TEST_SWITCH = "GENVFX_TEST_PARALLEL"
"""Test-only: `gloo` runs ranks on the CPU (diffusers' context parallelism assumes a GPU)."""
RANK_MARK = "GENVFX_RANK"
"""Set by the launcher in each rank's environment: the rank's number."""
TRANSFORMERS = ("transformer", "transformer_2")
NO_SOFTMAX_STATISTICS = ("native", "_native_npu")
"""Context-parallel backends whose attention cannot return the log-sum-exp ring attention needs."""


@dataclass(frozen=True)
class ParallelPlan:
    """How N ranks split one transformer's attention: Ulysses or ring degree N."""

    gpus: int
    method: str
    heads: int

    def describe(self) -> dict[str, object]:
        return {"gpus": self.gpus, "method": self.method, "heads": self.heads}


def gloo_on_cpu() -> bool:
    return os.environ.get(TEST_SWITCH, "") == "gloo"


def rank() -> int | None:
    """This process's rank when the launcher started it, else None."""
    value = os.environ.get(RANK_MARK)
    return int(value) if value is not None and value.isdigit() else None


def _configs(model_path: Path) -> list[dict[str, Any]]:
    found = []
    for name in TRANSFORMERS:
        try:
            config = json.loads((model_path / name / "config.json").read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(config, dict):
            found.append(config)
    return found


def has_plan(class_name: str | None) -> bool:
    """Whether this diffusers has a context-parallel plan for a transformer class."""
    import diffusers

    return getattr(getattr(diffusers, class_name or "", None), "_cp_plan", None) is not None


def ring_backends() -> list[str]:
    """Attention backends ring attention can run on (each needs an accelerator)."""
    from diffusers.models.attention_dispatch import _AttentionBackendRegistry

    supported = _AttentionBackendRegistry._supports_context_parallel
    names = (str(getattr(b, "value", b)) for b in supported)
    return sorted(n for n in names if n not in NO_SOFTMAX_STATISTICS and not n.endswith("_hub"))


def check_plan(gpus: int, model_path: Path, attention_backend: str | None) -> ParallelPlan | None:
    """The split of this model over `gpus` ranks, or `InvalidField` naming `gpus`."""
    if gpus == 1:
        return None
    import diffusers

    configs = _configs(model_path)
    if not configs:
        raise InvalidField("gpus", gpus, "1: this model folder has no transformer to split")
    heads: set[int] = set()
    for config in configs:
        name = config.get("_class_name")
        if not has_plan(name if isinstance(name, str) else None):
            raise InvalidField(
                "gpus",
                gpus,
                f"1: diffusers {diffusers.__version__} has no context-parallel plan for {name}",
            )
        heads.update(
            v for k, v in config.items() if k.endswith("num_attention_heads") and isinstance(v, int)
        )
    if heads and all(h % gpus == 0 for h in heads):
        return ParallelPlan(gpus, "ulysses", min(heads))
    counts = ", ".join(str(h) for h in sorted(heads))
    dividing = sorted(
        {d for d in range(2, max(heads, default=1) + 1) if all(h % d == 0 for h in heads)}
    )
    if attention_backend in ring_backends():
        return ParallelPlan(gpus, "ring", min(heads, default=0))
    raise InvalidField(
        "gpus",
        gpus,
        f"a count that divides the model's {counts} attention heads "
        f"({', '.join(map(str, dividing)) or 'none above 1'}), or ring attention through "
        f"attention_backend {' or '.join(ring_backends())} (on GPUs)",
    )


def parallel_record(
    gpus: int, model_path: Path, attention_backend: str | None
) -> dict[str, object]:
    """What the take records of its split: {} for one process."""
    plan = check_plan(gpus, model_path, attention_backend)
    return {} if plan is None else plan.describe()


def visible_gpus() -> list[str]:
    """The CUDA devices this process may use, as CUDA_VISIBLE_DEVICES names them."""
    import torch

    if torch.version.cuda is None or not torch.cuda.is_available():
        return []
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    count = torch.cuda.device_count()
    if listed:
        return [d.strip() for d in listed.split(",") if d.strip()][:count]
    return [str(n) for n in range(count)]


def check_devices(gpus: int, device: str | None, visible: list[str]) -> None:
    """Refuse, naming `gpus`, N ranks this machine cannot start (before anything runs)."""
    if gpus == 1:
        return
    if gloo_on_cpu():
        if device not in (None, "cpu"):
            raise InvalidField("device", device, f"cpu (or unset) with {TEST_SWITCH}=gloo")
        return
    if device is not None and device != "cuda":
        raise InvalidField(
            "gpus", gpus, f"1 on device {device}: several GPUs need device cuda (or unset)"
        )
    if gpus > len(visible):
        raise InvalidField(
            "gpus",
            gpus,
            f"at most the {len(visible)} CUDA device(s) visible here"
            + ("" if visible else " (none: several GPUs need CUDA)"),
        )


def require_rank(gpus: int) -> None:
    """Several GPUs run only in ranks the command line starts; refuse elsewhere (the worker)."""
    if gpus > 1 and rank() is None:
        raise InvalidField(
            "gpus",
            gpus,
            "1 here: several GPUs run through `genvfx generate --gpus N`, a farm task or "
            "`genvfx resume`, which start one process per GPU",
        )


def join_ranks(gpus: int) -> None:
    """Join the launcher's process group once (nccl on GPUs, gloo under the test switch)."""
    import torch.distributed as dist

    if dist.is_initialized():
        return
    if rank() is None or int(os.environ.get("WORLD_SIZE", "0")) != gpus:
        require_rank(gpus)
        raise RuntimeFailure(f"gpus: this process is not one of {gpus} ranks")
    dist.init_process_group("gloo" if gloo_on_cpu() else "nccl")


def enable(pipe: Any, plan: ParallelPlan) -> None:
    """Split every transformer of a loaded pipeline over the ranks."""
    from diffusers import ContextParallelConfig

    join_ranks(plan.gpus)
    warnings.filterwarnings("ignore", ".*all_gather_tensor", FutureWarning)
    degree = {"ulysses_degree" if plan.method == "ulysses" else "ring_degree": plan.gpus}
    for name in TRANSFORMERS:
        transformer = getattr(pipe, name, None)
        if transformer is None:
            continue
        try:
            with _cpu_mesh():
                transformer.enable_parallelism(config=ContextParallelConfig(**degree))
        except (ValueError, RuntimeError) as exc:
            raise RuntimeFailure(
                f"gpus: {name} cannot be split over {plan.gpus} ranks: {exc}"
            ) from exc


@contextlib.contextmanager
def _cpu_mesh() -> Iterator[None]:
    """Under the test switch only: diffusers places rank r on device r modulo the
    accelerator count, which is 0 without one; count the CPU as one device meanwhile."""
    if not gloo_on_cpu():
        yield
        return
    import torch

    counted = torch.accelerator.device_count
    torch.accelerator.device_count = lambda: 1
    try:
        yield
    finally:
        torch.accelerator.device_count = counted


def transformer_classes(pipeline_class: str) -> list[str]:
    """The transformer classes a pipeline class takes (from its signature)."""
    import inspect

    import diffusers

    pipeline = getattr(diffusers, pipeline_class, None)
    if pipeline is None:
        return []
    found: list[str] = []
    for name, parameter in inspect.signature(pipeline.__init__).parameters.items():
        if name in TRANSFORMERS:
            for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*Model", str(parameter.annotation)):
                if word not in found and hasattr(diffusers, word):
                    found.append(word)
    return found


def family_support(modes: dict[str, list[str]]) -> dict[str, object]:
    """What `genvfx info` reports of a family: the modes several GPUs can run (on weights
    whose every transformer has a plan), and the transformers with and without one."""
    pipelines = {p for pipes in modes.values() for p in pipes}
    classes = {p: transformer_classes(p) for p in pipelines}
    planned = {p for p, found in classes.items() if found and all(map(has_plan, found))}
    every = {c for found in classes.values() for c in found}
    return {
        "gpus_modes": [m for m, pipes in modes.items() if planned & set(pipes)],
        "context_parallel": sorted(c for c in every if has_plan(c)),
        "no_plan": sorted(c for c in every if not has_plan(c)),
    }
