"""A model frame made into a take frame with torch, on the pipeline's device.

The same steps as the numpy path (`media.colour`, `media.resize`, `media.matte`), in the
same order: model space -> working space (a baked form of OCIO's processor,
`media.colour_bake`, or OCIO's CPU processor where no bake meets its tolerance or the
frame leaves [0, 1]), Lanczos3 resize to the output size (`media.lanczos`), the matte
(black and none on the device; a green or blue screen is keyed by `media.matte` on the
CPU), premultiplication, and half floats when the take stores half. Only the result comes
back to the CPU, ready for EXR compression.

A model frame may be a numpy array or a tensor (on any device). A model frame with a 4th
channel carries its own straight alpha at the model size: it is resized with the colour
and premultiplies it; no key is pulled then.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .colour import ModelSpace, from_model_space
from .colour_bake import BakedColour, bake
from .lanczos import resize
from .matte import MatteSettings, key, sample_floor

if TYPE_CHECKING:
    import torch


@functools.lru_cache(maxsize=4)
def post_device(requested: str | None) -> str:
    """The job's device, or CUDA where torch sees one, else the CPU (as the pipeline chooses)."""
    if requested is not None:
        return requested
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass(frozen=True)
class DevicePost:
    """Where and how a canvas post-processes frames with torch."""

    device: str | None = None
    """The job's device (None: the pipeline's default choice)."""
    half: bool = False
    """The take stores half floats: convert on the device, before the copy back."""

    def describe(self, config: str, model: ModelSpace, working: str) -> dict[str, object]:
        return {
            "device": post_device(self.device),
            "colour": bake(config, model, working).describe(),
            "resize": "lanczos3",
        }

    def free_element(
        self,
        pixels: np.ndarray | torch.Tensor,
        colour: tuple[str, ModelSpace, str],
        width: int,
        height: int,
        matte: MatteSettings,
    ) -> np.ndarray:
        """(H, W, 4) premultiplied take frame from an (h, w, 3 or 4) model frame.

        The model frame may be a tensor already on the device (a decode kept there).
        """
        import torch

        device = torch.device(post_device(self.device))
        rgb = to_working(pixels[:, :, :3], colour, device)
        if pixels.shape[2] == 4:
            alpha = _tensor(pixels[:, :, 3:4], device)
            both = resize(torch.cat([rgb, alpha]), width, height)
            rgba = _premultiply(both[:3], both[3].clamp(0.0, 1.0))
        else:
            rgba = key_frame(resize(rgb, width, height), matte)
        return to_host(rgba, self.half)

    def resize(self, image: np.ndarray, width: int, height: int) -> np.ndarray:
        """An (H, W) or (H, W, C) image resized with Lanczos3 on the device, back as float32.

        For plate canvases, whose colour and matte stay on the CPU: the resize from the
        model's size to the region is the costly step there.
        """
        import torch

        flat = image.ndim == 2
        pixels = image[:, :, None] if flat else image
        out = resize(_tensor(pixels, torch.device(post_device(self.device))), width, height)
        back = out.permute(1, 2, 0).contiguous().cpu().numpy()
        return back[:, :, 0] if flat else back


def to_host(rgba: torch.Tensor, half: bool) -> np.ndarray:
    """(4, H, W) on the device -> (H, W, 4) numpy, half floats converted on the device."""
    import torch

    if half:
        rgba = rgba.to(torch.float16)
    return rgba.permute(1, 2, 0).contiguous().cpu().numpy()


def _tensor(pixels: np.ndarray | torch.Tensor, device: torch.device) -> torch.Tensor:
    """(h, w, C) numpy or tensor -> (C, h, w) float32 on `device`."""
    import torch

    if isinstance(pixels, np.ndarray):
        pixels = torch.from_numpy(np.ascontiguousarray(pixels, dtype=np.float32))
    return pixels.to(device, torch.float32).permute(2, 0, 1).contiguous()


def to_working(
    pixels: np.ndarray | torch.Tensor, colour: tuple[str, ModelSpace, str], device: torch.device
) -> torch.Tensor:
    """(h, w, 3) model-space pixels -> (3, h, w) working space on `device`."""
    baked: BakedColour = bake(*colour)
    empty = pixels.shape[0] * pixels.shape[1] == 0
    inside = empty or (float(pixels.min()) >= 0.0 and float(pixels.max()) <= 1.0)
    if baked.tables is None or not inside:
        config, model, working = colour
        host = pixels if isinstance(pixels, np.ndarray) else pixels.float().cpu().numpy()
        return _tensor(from_model_space(host, config, model, working), device)
    return baked.apply(_tensor(pixels, device))


def key_frame(rgb: torch.Tensor, matte: MatteSettings) -> torch.Tensor:
    """`media.matte.key` of a (3, H, W) working-space frame: (4, H, W) premultiplied."""
    import torch

    if matte.method == "none":
        return torch.cat([rgb, torch.ones_like(rgb[:1])])
    if matte.method != "black":
        frame = rgb.permute(1, 2, 0).cpu().numpy()
        return _tensor(key(frame, matte), rgb.device)
    sample = rgb[:, ::4, ::4].permute(1, 2, 0).cpu().numpy()
    floor = sample_floor(sample)
    alpha = rgb.amax(dim=0).clamp_(min=0.0).sub_(floor)
    alpha = _shape(alpha.mul_(matte.gain / max(1.0 - floor, 1e-6)).clamp_(0.0, 1.0), matte)
    rgba = torch.empty((4, *alpha.shape), dtype=rgb.dtype, device=rgb.device)
    torch.clamp(rgb, min=0.0, out=rgba[:3])
    rgba[3] = alpha
    return rgba.masked_fill_((alpha <= 0.0)[None], 0.0)


def _shape(alpha: torch.Tensor, matte: MatteSettings) -> torch.Tensor:
    """Gamma, choke and feather, as `media.matte` shapes a matte."""
    import torch.nn.functional as F

    if matte.gamma != 1.0:
        alpha = alpha.pow(1.0 / matte.gamma)
    half = round(matte.choke)
    if matte.choke > 0 and half > 0:
        size = 2 * half + 1
        alpha = -F.max_pool2d(-alpha[None, None], size, stride=1, padding=half)[0, 0]
    blur = round(matte.feather / 2)
    if matte.feather > 0 and blur > 0:
        steps = [blur // 3 + (1 if i < blur % 3 else 0) for i in range(3)]
        for step in steps:
            alpha = _box(_box(alpha, step, 0), step, 1)
        alpha = alpha.clamp(0.0, 1.0)
    return alpha


def _box(plane: torch.Tensor, half: int, axis: int) -> torch.Tensor:
    """Mean over 2 * half + 1 pixels along `axis`, edges repeated."""
    import torch.nn.functional as F

    if half == 0:
        return plane
    work = plane if axis == 1 else plane.T
    padded = F.pad(work[None], (half, half), mode="replicate")
    out = F.avg_pool1d(padded, 2 * half + 1, stride=1)[0]
    return out if axis == 1 else out.T.contiguous()


def _premultiply(rgb: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    return _with_alpha(rgb * alpha, alpha)


def _with_alpha(premult: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """(4, H, W) with RGB exactly 0 wherever alpha is 0 (as `media.matte.with_alpha`)."""
    import torch

    rgba = torch.cat([premult, alpha[None]])
    return rgba.masked_fill_((alpha <= 0.0)[None], 0.0)
