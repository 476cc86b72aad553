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
BUILD = "8"


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


_LETTERS = "abcdefghijklmnopqrstuvwxyz\u2581"


def _gemma_text_encoder() -> tuple[Any, Any]:
    """A two-layer Gemma 3 of width 32 and a letter tokenizer held in memory (no files)."""
    import torch
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration, GemmaTokenizer

    vocab = {"<pad>": 0, "<eos>": 1, "<bos>": 2, "<unk>": 3, "<mask>": 4}
    for letter in _LETTERS:
        vocab[letter] = len(vocab)
    tokenizer = GemmaTokenizer(vocab=vocab, merges=[])
    config = Gemma3Config(
        text_config={
            "hidden_size": 32,
            "intermediate_size": 37,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "num_key_value_heads": 1,
            "head_dim": 16,
            "vocab_size": len(vocab),
            "sliding_window": 16,
            "max_position_embeddings": 256,
        },
        vision_config={
            "hidden_size": 16,
            "intermediate_size": 16,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "image_size": 16,
            "patch_size": 8,
        },
        mm_tokens_per_image=4,
    )
    torch.manual_seed(0)
    return Gemma3ForConditionalGeneration(config), tokenizer


def _build_tiny_ltx2() -> Any:
    """LTX-2 with its audio branch (part of the model; genvfx ignores its output)."""
    import torch
    from diffusers import (
        AutoencoderKLLTX2Audio,
        AutoencoderKLLTX2Video,
        FlowMatchEulerDiscreteScheduler,
        LTX2Pipeline,
        LTX2VideoTransformer3DModel,
    )
    from diffusers.pipelines.ltx2 import LTX2TextConnectors
    from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder

    text_encoder, tokenizer = _gemma_text_encoder()
    torch.manual_seed(0)
    transformer = LTX2VideoTransformer3DModel(
        in_channels=4,
        out_channels=4,
        patch_size=1,
        patch_size_t=1,
        num_attention_heads=2,
        attention_head_dim=8,
        cross_attention_dim=16,
        audio_in_channels=4,
        audio_out_channels=4,
        audio_num_attention_heads=2,
        audio_attention_head_dim=4,
        audio_cross_attention_dim=8,
        num_layers=2,
        qk_norm="rms_norm_across_heads",
        caption_channels=32,
        rope_double_precision=False,
        rope_type="split",
    )
    torch.manual_seed(0)
    connectors = LTX2TextConnectors(
        caption_channels=32,
        text_proj_in_factor=3,
        video_connector_num_attention_heads=4,
        video_connector_attention_head_dim=8,
        video_connector_num_layers=1,
        video_connector_num_learnable_registers=None,
        audio_connector_num_attention_heads=4,
        audio_connector_attention_head_dim=8,
        audio_connector_num_layers=1,
        audio_connector_num_learnable_registers=None,
        connector_rope_base_seq_len=32,
        rope_theta=10000.0,
        rope_double_precision=False,
        causal_temporal_positioning=False,
        rope_type="split",
    )
    torch.manual_seed(0)
    vae = AutoencoderKLLTX2Video(
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        block_out_channels=(8, 8),
        decoder_block_out_channels=(8, 8),
        layers_per_block=(1, 1),
        decoder_layers_per_block=(1, 1, 1),
        spatio_temporal_scaling=(True, True),
        decoder_spatio_temporal_scaling=(True, True),
        decoder_inject_noise=(False, False, False),
        downsample_type=("spatiotemporal", "spatial"),
        upsample_type=("spatial", "spatiotemporal"),
        upsample_residual=(False, False),
        upsample_factor=(1, 1),
        spatial_compression_ratio=4,
        temporal_compression_ratio=2,
        timestep_conditioning=False,
        patch_size=1,
        patch_size_t=1,
        encoder_causal=True,
        decoder_causal=False,
    )
    torch.manual_seed(0)
    audio_vae = AutoencoderKLLTX2Audio(
        base_channels=4,
        output_channels=2,
        ch_mult=(1,),
        num_res_blocks=1,
        attn_resolutions=None,
        in_channels=2,
        resolution=32,
        latent_channels=2,
        norm_type="pixel",
        causality_axis="height",
        dropout=0.0,
        mid_block_add_attention=False,
        sample_rate=16000,
        mel_hop_length=160,
        is_causal=True,
        mel_bins=8,
    )
    torch.manual_seed(0)
    vocoder = LTX2Vocoder(
        in_channels=16,
        hidden_channels=32,
        out_channels=2,
        upsample_kernel_sizes=[4, 4],
        upsample_factors=[2, 2],
        resnet_kernel_sizes=[3],
        resnet_dilations=[[1, 3, 5]],
        leaky_relu_negative_slope=0.1,
        output_sampling_rate=16000,
    )
    return LTX2Pipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=vae,
        audio_vae=audio_vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        connectors=connectors,
        transformer=transformer,
        vocoder=vocoder,
        processor=None,
        prompt_enhancer=None,
        duration_head=None,
    )


def random_lora(pipe: Any, seed: int, rank: int = 2, scale: float = 0.5) -> dict[str, Any]:
    """A random LoRA in PEFT key form over every attention projection of `pipe.transformer`.

    The tiny HDR and alpha IC-LoRAs are made this way; tests use it for show LoRAs.
    """
    import torch

    generator = torch.Generator().manual_seed(seed)
    tensors: dict[str, Any] = {}
    for name, module in pipe.transformer.named_modules():
        leaf = name.rsplit(".", 1)[-1]
        if leaf not in ("to_q", "to_k", "to_v") or not isinstance(module, torch.nn.Linear):
            continue
        down = torch.randn(rank, module.in_features, generator=generator) * scale
        up = torch.randn(module.out_features, rank, generator=generator) * scale
        tensors[f"transformer.{name}.lora_A.weight"] = down.contiguous()
        tensors[f"transformer.{name}.lora_B.weight"] = up.contiguous()
    return tensors


def _tiny_ltx2_extras(pipe: Any, folder: Path) -> dict[str, Any]:
    """Tiny random HDR and alpha IC-LoRAs beside the model, named in its settings, and a
    latent upsampler where Lightricks keeps LTX-2's (`latent_upsampler/`)."""
    import torch
    from diffusers.pipelines.ltx2.latent_upsampler import LTX2LatentUpsamplerModel
    from safetensors.torch import save_file

    torch.manual_seed(0)
    upsampler = LTX2LatentUpsamplerModel(
        in_channels=pipe.vae.config.latent_channels,
        mid_channels=32,
        num_blocks_per_stage=1,
        spatial_upsample=True,
        temporal_upsample=False,
        rational_spatial_scale=2.0,
    )
    upsampler.save_pretrained(folder / "latent_upsampler")

    named: dict[str, Any] = {}
    (folder / "loras").mkdir()
    for seed, adapter in enumerate(("hdr", "alpha"), start=1):
        relative = f"loras/tiny-ic-lora-{adapter}.safetensors"
        save_file(random_lora(pipe, seed), str(folder / relative))
        named[f"{adapter}_lora"] = relative
    return {**named, "call": LTX2_TINY_CALL}


LTX2_TINY_CALL: dict[str, Any] = {
    "stg_scale": 0.0,
    "modality_scale": 1.0,
    "guidance_rescale": 0.0,
    "audio_guidance_scale": 1.0,
    "audio_stg_scale": 0.0,
    "audio_modality_scale": 1.0,
    "audio_guidance_rescale": 0.0,
    "spatio_temporal_guidance_blocks": None,
    "use_cross_timestep": False,
}
"""The guidance passes the full LTX-2 runs by default make no sense on two random layers."""


def _build_tiny_wan22() -> Any:
    """Wan 2.2 A14B form: a high-noise and a low-noise expert split at `boundary_ratio`."""
    import torch
    from diffusers import WanPipeline, WanTransformer3DModel

    parts = _wan_parts()
    experts = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        experts.append(WanTransformer3DModel(in_channels=16, num_layers=2, **_WAN_TRANSFORMER))
    return WanPipeline(
        transformer=experts[0], transformer_2=experts[1], boundary_ratio=0.875, **parts
    )


def _build_tiny_wan22_5b() -> Any:
    """Wan 2.2 TI2V-5B form: one transformer over the 48-channel VAE (16x space, 4x time),
    every frame with its own timestep (`expand_timesteps`) so an image can hold frame 0."""
    import torch
    from diffusers import AutoencoderKLWan, WanPipeline, WanTransformer3DModel

    parts = _wan_parts()
    channels = 48
    torch.manual_seed(0)
    parts["vae"] = AutoencoderKLWan(
        base_dim=12,
        z_dim=channels,
        dim_mult=[1, 1, 1, 1],
        num_res_blocks=1,
        temperal_downsample=[False, True, True],
        is_residual=True,
        in_channels=12,
        out_channels=12,
        patch_size=2,
        scale_factor_spatial=16,
        scale_factor_temporal=4,
        latents_mean=[0.0] * channels,
        latents_std=[1.0] * channels,
    )
    torch.manual_seed(0)
    transformer = WanTransformer3DModel(
        in_channels=channels,
        num_layers=2,
        **{**_WAN_TRANSFORMER, "out_channels": channels},
    )
    return WanPipeline(transformer=transformer, expand_timesteps=True, **parts)


def _build_tiny_skyreels() -> Any:
    """SkyReels-V2 diffusion forcing: windows that continue from the previous one's frames."""
    import torch
    from diffusers import (
        SkyReelsV2DiffusionForcingPipeline,
        SkyReelsV2Transformer3DModel,
        UniPCMultistepScheduler,
    )

    parts = _wan_parts()
    parts["scheduler"] = UniPCMultistepScheduler(
        prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=7.0
    )
    torch.manual_seed(0)
    transformer = SkyReelsV2Transformer3DModel(in_channels=16, num_layers=2, **_WAN_TRANSFORMER)
    return SkyReelsV2DiffusionForcingPipeline(transformer=transformer, **parts)


BUILDERS: dict[str, Callable[[], Any]] = {
    "tiny-ltx": _build_tiny_ltx,
    "tiny-wan": _build_tiny_wan,
    "tiny-wan-i2v": _build_tiny_wan_i2v,
    "tiny-wan-vace": _build_tiny_wan_vace,
    "tiny-ltx2": _build_tiny_ltx2,
    "tiny-wan22": _build_tiny_wan22,
    "tiny-wan22-5b": _build_tiny_wan22_5b,
    "tiny-skyreels": _build_tiny_skyreels,
}

EXTRAS: dict[str, Callable[[Any, Path], dict[str, Any]]] = {"tiny-ltx2": _tiny_ltx2_extras}
"""Files a built-in keeps beside its weights, and the settings that name them."""


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
        pipe = BUILDERS[name]()
        pipe.save_pretrained(staging)
        settings: dict[str, Any] = dict(TINY_SETTINGS)
        if name in EXTRAS:
            settings.update(EXTRAS[name](pipe, staging))
        (staging / MODEL_SETTINGS).write_text(json.dumps(settings, indent=2) + "\n")
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
