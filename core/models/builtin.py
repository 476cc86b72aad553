"""Built-in tiny models: real diffusers pipelines with small configs and fixed-seed weights.

They make abstract frames. They exist so that an install, the tests and a farm template can
be proven end to end with no download: each is built once, saved with `save_pretrained`
into the cache folder, and then loaded through the same code path as a user's model.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import ModelNotFound, RuntimeFailure
from ..paths import MODEL_SETTINGS, cache_dir
from .libraries import quiet_libraries

PREFIX = "builtin:"
TINY_SETTINGS = {"default_size": [64, 64], "max_pixels": 256 * 256}
BUILD = "5"


def _text_encoder(umt5: bool) -> tuple[Any, Any]:
    from transformers import ByT5Tokenizer, T5Config, T5EncoderModel, UMT5Config, UMT5EncoderModel

    tokenizer = ByT5Tokenizer()
    sizes: dict[str, Any] = {
        "vocab_size": len(tokenizer),
        "d_model": 32,
        "d_kv": 8,
        "d_ff": 37,
        "num_layers": 2,
        "num_heads": 4,
        "relative_attention_num_buckets": 8,
    }
    if umt5:
        return UMT5EncoderModel(UMT5Config(**sizes)), tokenizer
    return T5EncoderModel(T5Config(**sizes)), tokenizer


def _build_tiny_ltx() -> Any:
    import torch
    from diffusers import (
        AutoencoderKLLTXVideo,
        FlowMatchEulerDiscreteScheduler,
        LTXPipeline,
        LTXVideoTransformer3DModel,
    )

    torch.manual_seed(0)
    transformer = LTXVideoTransformer3DModel(
        in_channels=8,
        out_channels=8,
        patch_size=1,
        patch_size_t=1,
        num_attention_heads=4,
        attention_head_dim=8,
        cross_attention_dim=32,
        num_layers=1,
        caption_channels=32,
    )
    torch.manual_seed(0)
    vae = AutoencoderKLLTXVideo(
        latent_channels=8,
        block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8),
        spatio_temporal_scaling=(True, True, False, False),
        decoder_spatio_temporal_scaling=(True, True, False, False),
        layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1, 1),
        patch_size=1,
        patch_size_t=1,
        encoder_causal=True,
        decoder_causal=False,
    )
    torch.manual_seed(0)
    text_encoder, tokenizer = _text_encoder(umt5=False)
    return LTXPipeline(
        transformer=transformer,
        vae=vae,
        scheduler=FlowMatchEulerDiscreteScheduler(),
        text_encoder=text_encoder,
        tokenizer=tokenizer,
    )


_WAN_TRANSFORMER: dict[str, Any] = {
    "patch_size": (1, 2, 2),
    "num_attention_heads": 2,
    "attention_head_dim": 12,
    "out_channels": 16,
    "text_dim": 32,
    "freq_dim": 256,
    "ffn_dim": 32,
    "cross_attn_norm": True,
    "qk_norm": "rms_norm_across_heads",
    "rope_max_seq_len": 256,
}


def _wan_parts() -> dict[str, Any]:
    """The VAE, scheduler and text encoder every tiny Wan pipeline shares."""
    import torch
    from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler

    torch.manual_seed(0)
    vae = AutoencoderKLWan(
        base_dim=3,
        z_dim=16,
        dim_mult=[1, 1, 1, 1],
        num_res_blocks=1,
        temperal_downsample=[False, True, True],
    )
    torch.manual_seed(0)
    text_encoder, tokenizer = _text_encoder(umt5=True)
    return {
        "vae": vae,
        "scheduler": FlowMatchEulerDiscreteScheduler(shift=7.0),
        "text_encoder": text_encoder,
        "tokenizer": tokenizer,
    }


def _build_tiny_wan() -> Any:
    import torch
    from diffusers import WanPipeline, WanTransformer3DModel

    parts = _wan_parts()
    torch.manual_seed(0)
    transformer = WanTransformer3DModel(in_channels=16, num_layers=2, **_WAN_TRANSFORMER)
    return WanPipeline(transformer=transformer, **parts)


def _build_tiny_wan_i2v() -> Any:
    """Wan 2.2-style image-to-video: the image enters as latents only (no CLIP encoder)."""
    import torch
    from diffusers import WanImageToVideoPipeline, WanTransformer3DModel

    parts = _wan_parts()
    torch.manual_seed(0)
    transformer = WanTransformer3DModel(in_channels=36, num_layers=2, **_WAN_TRANSFORMER)
    return WanImageToVideoPipeline(
        transformer=transformer, image_encoder=None, image_processor=None, **parts
    )


def _build_tiny_wan_vace() -> Any:
    import torch
    from diffusers import WanVACEPipeline, WanVACETransformer3DModel

    parts = _wan_parts()
    torch.manual_seed(0)
    transformer = WanVACETransformer3DModel(
        in_channels=16,
        num_layers=3,
        vace_layers=[0, 2],
        vace_in_channels=96,
        **_WAN_TRANSFORMER,
    )
    return WanVACEPipeline(transformer=transformer, **parts)


BUILDERS: dict[str, Callable[[], Any]] = {
    "tiny-ltx": _build_tiny_ltx,
    "tiny-wan": _build_tiny_wan,
    "tiny-wan-i2v": _build_tiny_wan_i2v,
    "tiny-wan-vace": _build_tiny_wan_vace,
}


def builtin_names() -> list[str]:
    return [PREFIX + name for name in BUILDERS]


def ensure_builtin(reference: str) -> Path:
    """The folder of a built-in model, building and saving it on first use."""
    name = reference[len(PREFIX) :]
    if name not in BUILDERS:
        raise ModelNotFound(
            f"model: {reference!r} is not a built-in model; built-ins are "
            + ", ".join(builtin_names())
        )
    root = cache_dir() / "builtin"
    final = root / f"{name}-b{BUILD}"
    if (final / "model_index.json").is_file():
        return final
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
    quiet_libraries()
    try:
        BUILDERS[name]().save_pretrained(staging)
        (staging / MODEL_SETTINGS).write_text(json.dumps(TINY_SETTINGS, indent=2) + "\n")
        try:
            os.rename(staging, final)
        except OSError:
            if not (final / "model_index.json").is_file():
                raise
    except Exception as exc:  # safetensors reports a full disk as its own error type
        raise RuntimeFailure(f"model: cannot save {reference} under {root}: {exc}") from None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return final
