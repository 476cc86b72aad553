"""Loading diffusers pipelines (with LoRAs and levers) and running them with progress and cancel.

LoRAs load as named PEFT adapters on the transformer; pipelines made from the loaded one with
`from_pipe` share it, so an adapter pass (the HDR IC-LoRA) switches the active adapters
for its run and back (`use_adapters`).

Cancel raises `Cancelled` from `callback_on_step_end`, which stops every supported pipeline
before its VAE decode: a cancelled job pays for at most one more denoising step.
"""

from __future__ import annotations

import contextlib
import inspect
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import Cancelled, RuntimeFailure
from ..events import CancelToken
from ..models.devices import DeviceChoice
from ..models.libraries import quiet_libraries
from .levers import Levers, apply_levers
from .parallel import check_plan, enable

LORA_PREFIX = "genvfx_lora_"


@dataclass(frozen=True)
class LoadKey:
    path: Path
    pipeline_class: str
    device: str
    dtype: str
    cpu_offload: bool
    vae_tiling: bool
    levers: Levers = field(default_factory=Levers)
    loras: tuple[tuple[Path, float], ...] = ()

    @property
    def lora_weights(self) -> dict[str, float]:
        """The job's LoRAs as adapter name -> weight."""
        return {f"{LORA_PREFIX}{n}": weight for n, (_path, weight) in enumerate(self.loras)}

    allow_unsafe_weights: bool = False


class PipelineCache:
    """Keeps the last loaded pipeline so the next job with the same model does not reload it.

    One pipeline at a time: video models are large, and a second one rarely fits beside the first.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: LoadKey | None = None
        self._pipe: Any = None

    def get(self, key: LoadKey, allow_network: bool) -> tuple[Any, bool]:
        """(pipeline, loaded_now)."""
        with self._lock:
            if self._key == key:
                return self._pipe, False
            self._key, self._pipe = None, None
            self._pipe = load_pipeline(key, allow_network)
            self._key = key
            return self._pipe, True

    @property
    def current(self) -> Any:
        """The loaded pipeline, or None."""
        return self._pipe

    def clear(self) -> None:
        with self._lock:
            self._key, self._pipe = None, None


def load_pipeline(key: LoadKey, allow_network: bool) -> Any:
    import diffusers
    import torch

    quiet_libraries()

    pipeline_type = getattr(diffusers, key.pipeline_class, None)
    if pipeline_type is None:
        raise RuntimeFailure(
            f"this diffusers ({diffusers.__version__}) has no {key.pipeline_class}; upgrade diffusers"
        )
    try:
        pipe = pipeline_type.from_pretrained(
            str(key.path),
            dtype=getattr(torch, key.dtype),
            local_files_only=not allow_network,
            use_safetensors=None if key.allow_unsafe_weights else True,
        )
    except Exception as exc:
        raise RuntimeFailure(
            f"model: loading {key.path} as {key.pipeline_class} failed: {exc}"
        ) from exc
    for number, (path, _weight) in enumerate(key.loras):
        try:
            pipe.load_lora_weights(str(path), adapter_name=f"{LORA_PREFIX}{number}")
        except Exception as exc:
            raise RuntimeFailure(
                f"loras: {path} does not load into {key.pipeline_class}: {exc}"
            ) from exc
    use_adapters(pipe, key.lora_weights)
    apply_levers(pipe, key.levers, key.device)
    if key.cpu_offload:
        pipe.enable_model_cpu_offload(device=key.device)
    elif not key.levers.group_offload:
        pipe.to(key.device)
    plan = check_plan(key.levers.gpus, key.path, key.levers.attention_backend)
    if plan is not None:
        enable(pipe, plan)
    if key.vae_tiling and hasattr(pipe, "vae") and hasattr(pipe.vae, "enable_tiling"):
        pipe.vae.enable_tiling()
    decode_in_frame_groups(pipe)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def use_adapters(pipe: Any, weights: Mapping[str, float]) -> None:
    """Make exactly these loaded adapters active (none: the plain model)."""
    loaded: dict[str, list[str]] = getattr(pipe, "get_list_adapters", dict)()
    if not any(loaded.values()):
        return
    if not weights:
        pipe.disable_lora()
        return
    pipe.enable_lora()
    pipe.set_adapters(list(weights), list(weights.values()))


def load_adapter(pipe: Any, name: str, path: Path) -> None:
    """Load an IC-LoRA once under `name` (a second call finds it loaded).

    A pipeline holding several adapters (the job's LoRAs, the HDR and alpha passes) is
    intended: peft's warning that it found another is not shown.
    """
    loaded: dict[str, list[str]] = getattr(pipe, "get_list_adapters", dict)()
    if any(name in names for names in loaded.values()):
        return
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Already found a `peft_config`")
            pipe.load_lora_weights(str(path), adapter_name=name)
    except Exception as exc:
        raise RuntimeFailure(f"model: the adapter {path} does not load: {exc}") from exc


def with_call_defaults(
    pipe: Any, arguments: Mapping[str, Any], defaults: Mapping[str, Any]
) -> dict[str, Any]:
    """The model folder's call defaults its pipeline takes, under the window's arguments."""
    accepted = set(inspect.signature(pipe.__call__).parameters)
    return {**{k: v for k, v in defaults.items() if k in accepted}, **arguments}


def decode_in_frame_groups(pipe: Any) -> None:
    """Decode a window's latents a few frames at a time where the VAE can.

    A VAE that decodes a whole window at once holds activations for every frame: at 2K a
    241-frame window peaks at three times a 49-frame one. Decoding in overlapping frame
    groups (blended where they meet) keeps that peak flat in the window's length.
    """
    vae = getattr(pipe, "vae", None)
    if vae is not None and hasattr(vae, "use_framewise_decoding"):
        vae.use_framewise_decoding = True


def check_arguments(pipe: Any, arguments: Mapping[str, Any]) -> None:
    """Refuse keyword arguments the pipeline's `__call__` does not take, before it runs.

    Dropping them would hide a parameter diffusers renamed: the job would run, ignoring
    what it asked for.
    """
    parameters = inspect.signature(pipe.__call__).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return
    accepted = {p.name for p in parameters if p.kind is not inspect.Parameter.POSITIONAL_ONLY}
    unknown = sorted(set(arguments) - accepted)
    if unknown:
        import diffusers

        noun = "argument" if len(unknown) == 1 else "arguments"
        raise RuntimeFailure(
            f"{type(pipe).__name__} (diffusers {diffusers.__version__}) does not accept the "
            f"{noun} {', '.join(unknown)}; genvfx and the installed diffusers disagree about "
            "this pipeline"
        )


def run_pipeline(
    pipe: Any,
    arguments: Mapping[str, Any],
    seed: int,
    choice: DeviceChoice,
    cancel: CancelToken,
    on_step: Callable[[int, int], None],
) -> np.ndarray:
    """Run once and return float32 frames (F, H, W, 3) in [0, 1], display-referred."""
    result = call_pipeline(pipe, arguments, seed, choice, cancel, on_step, "np")
    frames = np.asarray(result[0], dtype=np.float32)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise RuntimeFailure(
            f"the pipeline returned frames of shape {frames.shape}, not (F, H, W, 3)"
        )
    return frames


def call_pipeline(
    pipe: Any,
    arguments: Mapping[str, Any],
    seed: int,
    choice: DeviceChoice,
    cancel: CancelToken,
    on_step: Callable[[int, int], None],
    output_type: str,
) -> Any:
    """Run once with progress and cancel; the output's `frames` (`output_type` "latent" for
    a stage another pipeline continues)."""
    import torch

    generator = torch.Generator(device="cpu").manual_seed(seed)
    return denoise(pipe, arguments, generator, choice, cancel, on_step, output_type).frames


def denoise(
    pipe: Any,
    arguments: Mapping[str, Any],
    generator: Any,
    choice: DeviceChoice,
    cancel: CancelToken,
    on_step: Callable[[int, int], None],
    output_type: str,
) -> Any:
    """Call the pipeline once with progress and cancel; its output as `output_type` asks.

    `generator` is left in the state the call leaves it, for a decode that draws from it
    afterwards as the pipeline's own would.
    """
    import torch

    total = int(arguments["num_inference_steps"])
    if cancel.cancelled:
        raise Cancelled("cancelled before the first step")

    def step_end(_pipe: Any, index: int, _timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
        on_step(index + 1, total)
        if cancel.cancelled:
            raise Cancelled(f"cancelled after step {index + 1} of {total}")
        return tensors

    call = {
        **arguments,
        "generator": generator,
        "output_type": output_type,
        "callback_on_step_end": step_end,
    }
    check_arguments(pipe, call)
    try:
        with torch.inference_mode(), out_of_memory(choice):
            return pipe(**call)
    except Cancelled:
        if hasattr(pipe, "maybe_free_model_hooks"):
            pipe.maybe_free_model_hooks()
        raise


@contextlib.contextmanager
def out_of_memory(choice: DeviceChoice) -> Iterator[None]:
    """The GPU running out of memory as a `RuntimeFailure` that says what to try."""
    import torch

    try:
        yield
    except torch.cuda.OutOfMemoryError as exc:
        raise RuntimeFailure(
            f"the GPU ran out of memory on {choice.device}: try cpu_offload, vae_tiling, "
            "a smaller format or fewer frames"
        ) from exc


def run_with_adapter(
    pipe: Any,
    adapter: tuple[str, Path],
    arguments: Mapping[str, Any],
    seed: int,
    choice: DeviceChoice,
    cancel: CancelToken,
    on_step: Callable[[int, int], None],
    restore: Mapping[str, float],
) -> np.ndarray:
    """Run once with only the IC-LoRA `adapter` (name, file) active; `restore` is active after."""
    name, path = adapter
    load_adapter(pipe, name, path)
    use_adapters(pipe, {name: 1.0})
    try:
        return run_pipeline(pipe, arguments, seed, choice, cancel, on_step)
    finally:
        use_adapters(pipe, restore)
