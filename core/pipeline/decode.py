"""A window's latents decoded a few frames at a time, the way its pipeline decodes them.

The engine runs a pipeline with `output_type="latent"` and decodes its latents here, so the
first frames of a window reach the writer while the rest are still decoding. Each decoder
does, step for step, what the pipeline's own decode does in the diffusers release this
package requires (0.42: its `pipeline_*.py` and `autoencoder_kl_*.py`), so the frames equal
the pipeline's `output_type="np"` result (`tests/test_stream_decode.py` holds them to it):

- LTX-Video and LTX-2: unpack the latents (where the pipeline returns them packed),
  denormalise, add the decode noise at the decode timestep when the VAE is timestep
  conditioned, then the VAE's overlapping temporal tiles (`use_framewise_decoding`),
  blended where they meet. A tile's first frames are final once it is blended with the
  tile before it, so they are yielded then; only that tile before is kept, not every tile.
- Wan and SkyReels-V2: latents mean/std, then the causal VAE decodes one latent frame at a
  time through its feature cache; each latent frame's frames are yielded as it is done.

A pipeline class, or a call, without such a decoder (VACE reference images, a SkyReels
last image, spatial VAE tiling on Wan, other families) returns `None` from `decoder_for`:
the caller decodes as before, the whole window at once.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Generator, Iterator, Mapping
from typing import Any

import numpy as np

Frames = Generator[np.ndarray, None, None]
Decoder = Callable[[Any, Any, Mapping[str, Any], Any], Frames]
"""(pipe, the latent output's frames, the call's arguments, its generator) -> frame groups,
each (n, H, W, 3) float32 in [0, 1], in order."""


def decoder_for(pipe: Any, arguments: Mapping[str, Any]) -> Decoder | None:
    """The streaming decoder for this pipeline and call, or None to decode as the pipeline does."""
    name = type(pipe).__name__
    vae = getattr(pipe, "vae", None)
    if vae is None or not hasattr(pipe, "video_processor"):
        return None
    if name in LTX_PACKED or name in LTX_UNPACKED or name in LTX2:
        return _ltx_decoder if _has_temporal_tiles(vae) else None
    if name in WAN and _streams_wan(vae) and not _wan_extras(arguments):
        return _wan_decoder
    return None


LTX_PACKED = frozenset({"LTXPipeline", "LTXImageToVideoPipeline"})
LTX_UNPACKED = frozenset({"LTXConditionPipeline"})
LTX2 = frozenset({"LTX2Pipeline", "LTX2ImageToVideoPipeline", "LTX2ConditionPipeline"})
WAN = frozenset(
    {
        "WanPipeline",
        "WanImageToVideoPipeline",
        "WanVideoToVideoPipeline",
        "WanVACEPipeline",
        "SkyReelsV2DiffusionForcingPipeline",
        "SkyReelsV2DiffusionForcingImageToVideoPipeline",
    }
)


def _has_temporal_tiles(vae: Any) -> bool:
    needed = ("decoder", "blend_t", "tiled_decode", "tile_sample_min_num_frames")
    return all(hasattr(vae, n) for n in needed)


def _streams_wan(vae: Any) -> bool:
    needed = ("decoder", "post_quant_conv", "clear_cache", "_cached_conv_counts")
    if not all(hasattr(vae, n) for n in needed):
        return False
    return not getattr(vae, "use_tiling", False)


def _wan_extras(arguments: Mapping[str, Any]) -> bool:
    """Inputs whose latents the pipeline cuts or joins before its decode."""
    return any(arguments.get(n) is not None for n in ("reference_images", "last_image"))


def _frames(pipe: Any, video: Any) -> np.ndarray:
    """VAE output (1, C, n, H, W) in [-1, 1] -> (n, H, W, 3) as the pipeline's own `np` output."""
    frames = pipe.video_processor.postprocess_video(video, output_type="np")[0]
    return np.asarray(frames, dtype=np.float32)


def _pre_forward(vae: Any) -> None:
    """What `decode` does first: an offload hook moves the VAE onto its device."""
    hook = getattr(vae, "_hf_hook", None)
    if hook is not None and hasattr(hook, "pre_forward"):
        hook.pre_forward(vae)


def _ltx_decoder(pipe: Any, latents: Any, arguments: Mapping[str, Any], generator: Any) -> Frames:
    import torch

    with torch.inference_mode():
        latents, timestep = _ltx_latents(pipe, latents, arguments, generator)
    for video in _temporal_tiles(pipe.vae, latents, timestep):
        yield _frames(pipe, video)


def _ltx_latents(
    pipe: Any, latents: Any, arguments: Mapping[str, Any], generator: Any
) -> tuple[Any, Any]:
    """The VAE's input and decode timestep, from the pipeline's latent output."""
    name = type(pipe).__name__
    vae = pipe.vae
    mean, std, scale = vae.latents_mean, vae.latents_std, vae.config.scaling_factor
    if name in LTX_PACKED:
        latents = pipe._unpack_latents(
            latents,
            (arguments["num_frames"] - 1) // pipe.vae_temporal_compression_ratio + 1,
            arguments["height"] // pipe.vae_spatial_compression_ratio,
            arguments["width"] // pipe.vae_spatial_compression_ratio,
            pipe.transformer_spatial_patch_size,
            pipe.transformer_temporal_patch_size,
        )
    conditioned = bool(vae.config.timestep_conditioning)
    if name in LTX2:
        # LTX-2 returns its latents denormalised; its own decode adds the noise before that.
        if conditioned:
            latents = pipe._normalize_latents(latents, mean, std, scale)
    else:
        latents = pipe._denormalize_latents(latents, mean, std, scale)
    latents = latents.to(_prompt_dtype(pipe))
    timestep = None
    if conditioned:
        latents, timestep = _decode_noise(pipe, latents, arguments, generator)
    if name in LTX2 and conditioned:
        latents = pipe._denormalize_latents(latents, mean, std, scale)
    return latents.to(vae.dtype), timestep


def _prompt_dtype(pipe: Any) -> Any:
    """The prompt embeddings' dtype (the text encoder's), to which the pipeline casts latents."""
    return pipe.text_encoder.dtype


def _decode_noise(
    pipe: Any, latents: Any, arguments: Mapping[str, Any], generator: Any
) -> tuple[Any, Any]:
    """Latents noised to the decode timestep, drawn from the call's generator after its steps."""
    import torch
    from diffusers.utils.torch_utils import randn_tensor

    defaults = inspect.signature(pipe.__call__).parameters
    timestep = arguments.get("decode_timestep", defaults["decode_timestep"].default)
    noise_scale = arguments.get("decode_noise_scale", defaults["decode_noise_scale"].default)
    if noise_scale is None:
        noise_scale = timestep
    timestep = timestep if isinstance(timestep, list) else [timestep]
    noise_scale = noise_scale if isinstance(noise_scale, list) else [noise_scale]
    device, dtype = latents.device, latents.dtype
    noise = randn_tensor(latents.shape, generator=generator, device=device, dtype=dtype)
    scale = torch.tensor(noise_scale, device=device, dtype=dtype)[:, None, None, None, None]
    noised = (1 - scale) * latents + scale * noise
    return noised, torch.tensor(timestep, device=device, dtype=dtype)


def _temporal_tiles(vae: Any, latents: Any, timestep: Any) -> Iterator[Any]:
    """The VAE's decode, yielding each temporal tile's final frames as soon as they are.

    As `_temporal_tiled_decode` does: tiles of `tile_sample_min_num_frames` overlap by
    `min - stride` frames, each after the first blended (`blend_t`) into the one before
    and cut to its first `stride` frames. Fewer latent frames than a tile: one decode.
    """
    import torch

    ratio = vae.temporal_compression_ratio
    tile = vae.tile_sample_min_num_frames // ratio
    stride = vae.tile_sample_stride_num_frames // ratio
    count = latents.shape[2]
    if not (vae.use_framewise_decoding and count > tile):
        with torch.inference_mode():
            whole = vae.decode(latents, timestep, return_dict=False)[0]
        yield whole
        return
    _pre_forward(vae)
    blend = vae.tile_sample_min_num_frames - vae.tile_sample_stride_num_frames
    keep = vae.tile_sample_stride_num_frames
    total = (count - 1) * ratio + 1
    previous = None
    sent = 0
    for start in range(0, count, stride):
        with torch.inference_mode():
            decoded = _decode_tile(vae, latents[:, :, start : start + tile + 1], timestep)
            if previous is None:
                ready = decoded[:, :, : keep + 1]
            else:
                decoded = vae.blend_t(previous, decoded[:, :, :-1], blend)
                ready = decoded[:, :, :keep]
            previous = decoded
            ready = ready[:, :, : total - sent]
        sent += ready.shape[2]
        if ready.shape[2]:
            yield ready


def _decode_tile(vae: Any, tile: Any, timestep: Any) -> Any:
    height = vae.tile_sample_min_height // vae.spatial_compression_ratio
    width = vae.tile_sample_min_width // vae.spatial_compression_ratio
    if vae.use_tiling and (tile.shape[-1] > width or tile.shape[-2] > height):
        return vae.tiled_decode(tile, timestep, return_dict=True).sample
    return vae.decoder(tile, timestep)


def _wan_decoder(pipe: Any, latents: Any, arguments: Mapping[str, Any], generator: Any) -> Frames:
    """Wan-family latents, one latent frame at a time through the VAE's causal cache."""
    import torch
    from diffusers.models.autoencoders.autoencoder_kl_wan import unpatchify
    from diffusers.utils.torch_utils import get_module_execution_device

    vae = pipe.vae
    config = vae.config
    with torch.inference_mode():
        latents = latents.to(get_module_execution_device(vae), dtype=vae.dtype)
        mean = torch.tensor(config.latents_mean).view(1, config.z_dim, 1, 1, 1)
        std = 1.0 / torch.tensor(config.latents_std).view(1, config.z_dim, 1, 1, 1)
        latents = latents / std.to(latents.device, latents.dtype) + mean.to(
            latents.device, latents.dtype
        )
    _pre_forward(vae)
    vae.clear_cache()
    try:
        with torch.inference_mode():
            conditioned = vae.post_quant_conv(latents)
        for index in range(conditioned.shape[2]):
            with torch.inference_mode():
                vae._conv_idx = [0]
                first = {"first_chunk": True} if index == 0 else {}
                video = vae.decoder(
                    conditioned[:, :, index : index + 1],
                    feat_cache=vae._feat_map,
                    feat_idx=vae._conv_idx,
                    **first,
                )
                if config.patch_size is not None:
                    video = unpatchify(video, patch_size=config.patch_size)
                video = torch.clamp(video, min=-1.0, max=1.0)
            yield _frames(pipe, video)
    finally:
        vae.clear_cache()
