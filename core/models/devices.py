"""Choosing the torch device and dtype: CUDA bf16 where available, CPU float32 otherwise."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InvalidField


@dataclass(frozen=True)
class DeviceChoice:
    device: str
    dtype: str
    reason: str


def cuda_unavailable_reason() -> str | None:
    """None when CUDA works; otherwise why not, in words a TD can act on."""
    import torch

    if torch.version.cuda is None:
        return (
            f"this torch ({torch.__version__}) is a CPU-only build; "
            "install a CUDA build of torch into genvfx's environment"
        )
    if not torch.cuda.is_available():
        return (
            "torch has CUDA support but found no usable GPU (driver missing or no device visible)"
        )
    return None


def choose_device(device: str | None, dtype: str | None) -> DeviceChoice:
    import torch

    reason = cuda_unavailable_reason()
    if device is None:
        if reason is None:
            device, why = "cuda", "CUDA is available"
        else:
            device, why = "cpu", f"CUDA is not available: {reason}"
    else:
        why = "requested"
        if device.startswith("cuda") and reason is not None:
            raise InvalidField("device", device, f"cpu, since CUDA is not available: {reason}")
        if device.startswith("cuda:") and int(device[5:]) >= torch.cuda.device_count():
            raise InvalidField("device", device, f"cuda:0 to cuda:{torch.cuda.device_count() - 1}")
        if device == "mps" and not torch.backends.mps.is_available():
            raise InvalidField("device", device, "cpu or cuda; MPS is not available here")
    if dtype is None:
        dtype = "bfloat16" if device.startswith("cuda") else "float32"
    return DeviceChoice(device=device, dtype=dtype, reason=why)
