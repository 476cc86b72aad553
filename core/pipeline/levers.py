"""Speed and memory levers: which the installed diffusers and the device can use, and applying them.

Every lever is a job field. `check_levers` refuses one this machine cannot use before
anything is written (naming the field and why), reading only the model folder's configs and
diffusers' own registries; `apply_levers` sets them on a loaded pipeline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidField
from ..job import GenerationJob
from ..job.job import DEFAULT_CACHE_THRESHOLD
from ..models.devices import DeviceChoice
from .parallel import check_plan

CPU_BACKENDS = ("native", "_native_math")
"""Attention backends that run on a CPU; every other one needs an accelerator."""


@dataclass(frozen=True)
class Levers:
    """The levers a pipeline is loaded with (part of what makes a loaded pipeline reusable)."""

    step_cache: str | None = None
    step_cache_threshold: float = DEFAULT_CACHE_THRESHOLD
    attention_backend: str | None = None
    compile: bool = False
    group_offload: bool = False
    gpus: int = 1

    @classmethod
    def of(cls, job: GenerationJob) -> Levers:
        threshold = job.step_cache_threshold
        return cls(
            step_cache=job.step_cache,
            step_cache_threshold=DEFAULT_CACHE_THRESHOLD if threshold is None else threshold,
            attention_backend=job.attention_backend,
            compile=job.compile,
            group_offload=job.group_offload,
            gpus=job.gpus,
        )


def transformer_class(model_path: Path) -> str | None:
    """The class name of a model folder's transformer (from its config), if it has one."""
    try:
        config = json.loads((model_path / "transformer" / "config.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    name = config.get("_class_name") if isinstance(config, dict) else None
    return name if isinstance(name, str) else None


def repeated_blocks(class_name: str | None) -> list[str]:
    """The block classes a diffusers transformer repeats (what caching and compiling act on)."""
    import diffusers

    model_type = getattr(diffusers, class_name or "", None)
    return list(getattr(model_type, "_repeated_blocks", None) or [])


def cacheable_blocks() -> set[str]:
    """Block classes diffusers' step caches know how to skip."""
    from diffusers.hooks import _helpers

    register = getattr(_helpers, "_register_transformer_blocks_metadata", None)
    if register is not None:
        register()
    return {model.__name__ for model in _helpers.TransformerBlockRegistry._registry}


def check_levers(levers: Levers, model_path: Path, device: DeviceChoice) -> None:
    """Refuse, naming the field, any lever this diffusers or this device cannot use."""
    if levers == Levers(step_cache_threshold=levers.step_cache_threshold):
        return
    import diffusers

    check_plan(levers.gpus, model_path, levers.attention_backend)

    version = f"diffusers {diffusers.__version__}"
    accelerator = device.device.startswith("cuda")
    transformer = transformer_class(model_path)
    blocks = repeated_blocks(transformer)
    if levers.step_cache is not None:
        missing = [b for b in blocks if b not in cacheable_blocks()]
        if not blocks or missing:
            raise InvalidField(
                "step_cache",
                levers.step_cache,
                f"off: {version} cannot cache the steps of {transformer or 'this model'}"
                f" (its blocks {', '.join(missing or blocks) or 'are unknown'})",
            )
    if levers.attention_backend is not None:
        _check_backend(levers.attention_backend, accelerator, version)
    if levers.compile:
        if not accelerator:
            raise InvalidField("compile", True, f"false on {device.device}: it needs a CUDA device")
        if not blocks:
            raise InvalidField(
                "compile", True, f"false: {transformer or 'this model'} has no repeated blocks"
            )
    if levers.group_offload and not accelerator:
        raise InvalidField(
            "group_offload", True, f"false on {device.device}: it streams to a CUDA device"
        )


def _check_backend(name: str, accelerator: bool, version: str) -> None:
    from diffusers.models.attention_dispatch import (
        AttentionBackendName,
        _check_attention_backend_requirements,
    )

    known = [b.value for b in AttentionBackendName if not b.value.endswith("_hub")]
    if name not in known:
        raise InvalidField("attention_backend", name, f"one of {', '.join(known)} ({version})")
    if not accelerator and name not in CPU_BACKENDS:
        raise InvalidField(
            "attention_backend", name, f"one of {', '.join(CPU_BACKENDS)} on a CPU device"
        )
    try:
        _check_attention_backend_requirements(AttentionBackendName(name))
    except (RuntimeError, ValueError, ImportError) as exc:
        raise InvalidField(
            "attention_backend", name, f"a backend this machine has installed ({exc})"
        ) from None


def apply_levers(pipe: Any, levers: Levers, device: str) -> None:
    """Set the levers on a freshly loaded pipeline (every transformer it has)."""
    transformers = [
        getattr(pipe, name)
        for name in ("transformer", "transformer_2")
        if getattr(pipe, name, None) is not None
    ]
    for transformer in transformers:
        if levers.attention_backend is not None:
            transformer.set_attention_backend(levers.attention_backend)
        if levers.step_cache == "first_block":
            from diffusers import FirstBlockCacheConfig

            transformer.enable_cache(FirstBlockCacheConfig(threshold=levers.step_cache_threshold))
        if levers.compile:
            transformer.compile_repeated_blocks(fullgraph=True)
    if levers.group_offload:
        import torch

        pipe.enable_group_offload(
            onload_device=torch.device(device),
            offload_type="block_level",
            num_blocks_per_group=1,
        )


def available_levers(device: DeviceChoice) -> dict[str, object]:
    """What `genvfx info` reports: each lever and whether this machine can use it."""
    from diffusers.models.attention_dispatch import AttentionBackendName

    accelerator = device.device.startswith("cuda")
    backends = []
    for backend in AttentionBackendName:
        try:
            _check_backend(backend.value, accelerator, "")
        except InvalidField:
            continue
        backends.append(backend.value)
    return {
        "step_cache": ["first_block"],
        "step_cache_blocks": sorted(cacheable_blocks()),
        "attention_backend": backends,
        "compile": accelerator,
        "group_offload": accelerator,
        "cpu_offload": True,
        "vae_tiling": True,
    }
