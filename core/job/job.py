"""`GenerationJob`: the one value that carries every generation parameter.

The Nuke node, the CLI, the worker and a farm task all build this same value. It is
frozen, round-trips through JSON, and is validated field by field on load: an invalid
field raises `InvalidField` naming the field, the value and what is allowed. Each field
declares its parser and its spellings once (`fields.spec`). Checks that need the model
(legal sizes, supported modes) happen when the job is prepared, still before anything is
written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidField
from . import fields as f
from .decode import MAX_DEPTH, nesting, parse_json, too_deep
from .fields import FieldSpec, spec
from .modes import BACKGROUND_PROMPTS, Matte, Mode
from .values import MAX_FRAMES, MAX_SIDE, Format, FrameRange, Lora

SCHEMA = 1
COMPRESSIONS = ("zip", "piz", "dwaa", "none")
PIXEL_TYPES = ("half", "float")
DTYPES = ("float32", "bfloat16", "float16")
MAX_SEED = 2**31 - 1
STEP_CACHES = ("first_block",)
DEFAULT_CACHE_THRESHOLD = 0.05
MAX_GPUS = 64
HASH_EXCLUDES = ("output_root",)
PATH_FIELDS = ("plate", "mask", "output_root", "ocio_config", "reference_lora")
"""Fields holding file paths: always recorded absolute and normalised (`fields.path`)."""
"""Fields that say where a take goes, not what it is: the job hash leaves them out."""


@dataclass(frozen=True)
class GenerationJob:
    """Every parameter of one generation. Build with `GenerationJob.from_dict` to validate."""

    prompt: str = field(
        metadata=spec(
            f.text(allow_empty=False),
            "what to generate",
            flag="--prompt",
            knob="prompt",
            required="a non-empty string",
        )
    )
    model: str = field(
        metadata=spec(
            f.text(allow_empty=False),
            "model folder, a name under GENVFX_MODELS, or builtin:tiny-ltx",
            flag="--model",
            knob="model",
            required="a model folder, a model name from GENVFX_MODELS, or builtin:tiny-ltx",
        )
    )
    frames: FrameRange = field(
        metadata=spec(
            f.frames,
            "frame range FIRST-LAST, e.g. 1001-1100 (default: the plate's)",
            flag="--frames",
            knob="frames",
            required="FIRST-LAST, e.g. 1001-1100",
        )
    )
    output_root: str = field(
        metadata=spec(
            f.path,
            "output root folder; takes go in OUT/NAME/vNNN (default ./takes)",
            flag="--out",
            knob="output_root",
            required="a folder to write takes under",
        )
    )
    name: str = field(
        metadata=spec(
            f.element_name,
            "element name (default element)",
            flag="--name",
            required="a take name (letters, digits, '_' or '-')",
        )
    )
    seed: int = field(
        default=0,
        metadata=spec(
            f.integer(0, MAX_SEED),
            f"random seed 0-{MAX_SEED} (default: a new random seed)",
            flag="--seed",
            knob="seed",
            cli_type=int,
        ),
    )
    negative_prompt: str = field(
        default="",
        metadata=spec(
            f.text(allow_empty=True),
            "what to steer away from",
            flag="--negative",
            knob="negative_prompt",
        ),
    )
    mode: Mode = field(
        default=Mode.T2V,
        metadata=spec(
            lambda name, value: Mode(f.choice(Mode.values())(name, value)),
            "generation mode",
            flag="--mode",
            knob="mode",
            choices=Mode.values(),
        ),
    )
    family: str | None = field(
        default=None,
        metadata=spec(
            f.text(allow_empty=False),
            "model family when the folder does not say (ltx, ltx2, wan, wan22, wan22-5b, skyreels, cogvideox)",
            flag="--family",
        ),
    )
    fps: float | None = field(
        default=None,
        metadata=spec(
            f.number(0.0, 1000.0, low_open=True),
            "frames per second (default: the model's native rate)",
            flag="--fps",
            cli_type=float,
        ),
    )
    format: Format | None = field(
        default=None,
        metadata=spec(
            f.image_format,
            "output size WIDTHxHEIGHT (default: the plate's, else the model's)",
            flag="--format",
        ),
    )
    steps: int | None = field(
        default=None,
        metadata=spec(
            f.integer(1, 1000),
            "denoising steps (default: the model family's)",
            flag="--steps",
            knob="steps",
            cli_type=int,
        ),
    )
    guidance: float | None = field(
        default=None,
        metadata=spec(
            f.number(0.0, 100.0),
            "guidance scale (default: the model family's)",
            flag="--guidance",
            knob="guidance",
            cli_type=float,
        ),
    )
    strength: float | None = field(
        default=None,
        metadata=spec(
            f.number(0.0, 1.0),
            "v2v/inpaint strength: 0 keeps the plate, 1 ignores it",
            flag="--strength",
            knob="strength",
            cli_type=float,
        ),
    )
    plate: str | None = field(
        default=None,
        metadata=spec(
            f.path,
            "plate frames, with #### or %%04d for the frame number",
            flag="--plate",
        ),
    )
    plate_layer: str = field(
        default="rgba",
        metadata=spec(
            f.text(allow_empty=False), "plate layer to read (default rgba)", flag="--plate-layer"
        ),
    )
    plate_space: str | None = field(
        default=None,
        metadata=spec(
            f.text(allow_empty=False),
            "OCIO colour space of the plate files (default: the working space)",
            flag="--plate-space",
        ),
    )
    region: tuple[int, int, int, int] | None = field(
        default=None,
        metadata=spec(
            f.region,
            "X,Y,W,H plate box to generate in (default: the mask's box + margin)",
            flag="--region",
            knob="region",
        ),
    )
    mask: str | None = field(
        default=None,
        metadata=spec(
            f.path,
            "mask frames (white = generate), with #### or %%04d",
            flag="--mask",
        ),
    )
    condition_frame: int | None = field(
        default=None,
        metadata=spec(
            f.integer(-(10**7), 10**7),
            "i2v: plate frame that starts the shot",
            flag="--condition-frame",
            knob="condition_frame",
            cli_type=int,
        ),
    )
    model_size: Format | None = field(
        default=None,
        metadata=spec(
            f.image_format,
            "pixel budget the model generates at, WIDTHxHEIGHT (default: the family's size)",
            flag="--model-size",
        ),
    )
    window: int | None = field(
        default=None,
        metadata=spec(
            f.integer(1, MAX_FRAMES),
            "frames per generation window (default: the model's most)",
            flag="--window",
            knob="window",
            cli_type=int,
        ),
    )
    overlap: int | None = field(
        default=None,
        metadata=spec(
            f.integer(0, MAX_FRAMES),
            "frames shared by consecutive windows",
            flag="--overlap",
            knob="overlap",
            cli_type=int,
        ),
    )
    independent_windows: bool = field(
        default=False,
        metadata=spec(
            f.boolean,
            "generate each window on its own, not from the previous window's frames "
            "(only cross-faded): farm chunks then run in parallel",
            flag="--independent-windows",
            boolean=True,
        ),
    )
    margin: int | None = field(
        default=None,
        metadata=spec(
            f.integer(0, MAX_SIDE),
            "pixels of plate context around the mask's box",
            flag="--margin",
            cli_type=int,
        ),
    )
    feather: float | None = field(
        default=None,
        metadata=spec(
            f.number(0.0, float(MAX_SIDE)),
            "pixels the matte softens over (mask: inside its edge; default: 1/200 of "
            "the plate's width for a mask, else 0)",
            flag="--feather",
            cli_type=float,
        ),
    )
    matte: Matte | None = field(
        default=None,
        metadata=spec(
            lambda name, value: Matte(f.choice(Matte.values())(name, value)),
            "how the take's alpha is made (default: mask with a mask, else black for "
            "t2v and i2v, none for v2v; model: the model's alpha IC-LoRA)",
            flag="--matte",
            knob="matte",
            choices=Matte.values(),
        ),
    )
    matte_gain: float | None = field(
        default=None,
        metadata=spec(
            f.number(0.0, 100.0, low_open=True),
            "black/green/blue/difference: alpha gain (default 1)",
            flag="--matte-gain",
            cli_type=float,
        ),
    )
    matte_gamma: float | None = field(
        default=None,
        metadata=spec(
            f.number(0.1, 10.0),
            "black/green/blue/difference: alpha gamma, above 1 thickens (default 1)",
            flag="--matte-gamma",
            cli_type=float,
        ),
    )
    matte_choke: float | None = field(
        default=None,
        metadata=spec(
            f.number(0.0, 1000.0),
            "pixels the matte is eroded by (default 0)",
            flag="--matte-choke",
            cli_type=float,
        ),
    )
    background_prompt: str | None = field(
        default=None,
        metadata=spec(
            f.text(allow_empty=True),
            "black/green/blue: the background instruction appended to the prompt "
            "(default: one per method; empty: none)",
            flag="--background-prompt",
        ),
    )
    compression: str = field(
        default="zip",
        metadata=spec(
            f.choice(COMPRESSIONS),
            "EXR compression (default zip)",
            flag="--compression",
            choices=COMPRESSIONS,
        ),
    )
    pixel_type: str = field(
        default="half",
        metadata=spec(
            f.choice(PIXEL_TYPES),
            "EXR pixel type (default half)",
            flag="--pixel-type",
            choices=PIXEL_TYPES,
        ),
    )
    working_space: str = field(
        default="lin_rec709",
        metadata=spec(
            f.text(allow_empty=False),
            "OCIO colour space of the take (default lin_rec709)",
            flag="--working-space",
        ),
    )
    model_space: str | None = field(
        default=None,
        metadata=spec(
            f.text(allow_empty=False),
            "what the model sees: DISPLAY/VIEW of the OCIO config, or a colour space such as "
            "srgb_tx (default: the config's default display and view)",
            flag="--model-space",
        ),
    )
    ocio_config: str | None = field(
        default=None,
        metadata=spec(
            f.path,
            "OCIO config file or ocio:// name (default: $OCIO, else built-in)",
            flag="--ocio-config",
        ),
    )
    cpu_offload: bool = field(
        default=False,
        metadata=spec(
            f.boolean,
            "keep model parts on the CPU until used",
            flag="--cpu-offload",
            knob="cpu_offload",
            boolean=True,
        ),
    )
    vae_tiling: bool = field(
        default=False,
        metadata=spec(
            f.boolean,
            "decode in tiles to save GPU memory",
            flag="--vae-tiling",
            knob="vae_tiling",
            boolean=True,
        ),
    )
    loras: tuple[Lora, ...] = field(
        default=(),
        metadata=spec(
            f.loras,
            "a LoRA PATH[:WEIGHT] (.safetensors) for the transformer; repeat for more",
            flag="--lora",
            repeat=True,
        ),
    )
    hdr: bool = field(
        default=False,
        metadata=spec(
            f.boolean,
            "run the model's HDR IC-LoRA over the frames: the take holds linear light above 1",
            flag="--hdr",
            boolean=True,
        ),
    )
    two_stage: bool = field(
        default=False,
        metadata=spec(
            f.boolean,
            "LTX-2: generate at half size, upsample the latents with the model's latent "
            "upsampler, refine at full size",
            flag="--two-stage",
            boolean=True,
        ),
    )
    reference_lora: str | None = field(
        default=None,
        metadata=spec(
            f.text(allow_empty=False),
            "LTX-2 v2v: an IC-LoRA (.safetensors) that reads the plate as its reference video",
            flag="--reference-lora",
        ),
    )
    step_cache: str | None = field(
        default=None,
        metadata=spec(
            f.choice(STEP_CACHES),
            "skip transformer work on steps that change little (first_block)",
            flag="--step-cache",
            choices=STEP_CACHES,
        ),
    )
    step_cache_threshold: float | None = field(
        default=None,
        metadata=spec(
            f.number(0.0, 1.0, low_open=True),
            f"step cache threshold: higher is faster, less exact (default {DEFAULT_CACHE_THRESHOLD})",
            flag="--step-cache-threshold",
            cli_type=float,
        ),
    )
    attention_backend: str | None = field(
        default=None,
        metadata=spec(
            f.text(allow_empty=False),
            "diffusers attention backend, e.g. native, flash, sage (default: diffusers')",
            flag="--attention-backend",
        ),
    )
    compile: bool = field(
        default=False,
        metadata=spec(
            f.boolean,
            "compile the transformer's repeated blocks (torch.compile; CUDA)",
            flag="--compile",
            boolean=True,
        ),
    )
    group_offload: bool = field(
        default=False,
        metadata=spec(
            f.boolean,
            "stream the transformer's blocks to the GPU in groups (least memory; CUDA)",
            flag="--group-offload",
            boolean=True,
        ),
    )
    gpus: int = field(
        default=1,
        metadata=spec(
            f.integer(1, MAX_GPUS),
            "GPUs of this machine that share one take (context parallel; default 1)",
            flag="--gpus",
            cli_type=int,
        ),
    )
    device: str | None = field(
        default=None,
        metadata=spec(
            f.device,
            "torch device: cpu, cuda, cuda:N (default: cuda if available)",
            flag="--device",
        ),
    )
    dtype: str | None = field(
        default=None,
        metadata=spec(
            f.choice(DTYPES),
            "torch dtype (default: bfloat16 on CUDA, float32 on CPU)",
            flag="--dtype",
            choices=DTYPES,
        ),
    )
    allow_network: bool = field(
        default=False,
        metadata=spec(
            f.boolean,
            "allow fetching a hub id (off: fully offline)",
            flag="--allow-network",
            boolean=True,
        ),
    )
    allow_unsafe_weights: bool = field(
        default=False,
        metadata=spec(
            f.boolean,
            "load pickle weights or a model's own code (they can run code; off: safetensors only)",
            flag="--allow-unsafe-weights",
            boolean=True,
        ),
    )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GenerationJob:
        """Validate a mapping (parsed JSON, CLI flags, knob values) into a job."""
        if not isinstance(data, Mapping):
            raise InvalidField("job", type(data).__name__, "a JSON object")
        if nesting(dict(data)) > MAX_DEPTH:
            raise InvalidField("job", "<deeply nested values>", too_deep())
        specs = field_specs()
        known = set(specs) | {"schema"}
        unknown = sorted(str(k) for k in data if k not in known)
        if unknown:
            raise InvalidField(
                unknown[0], data.get(unknown[0]), f"one of the job fields {sorted(known)}"
            )
        schema = data.get("schema", SCHEMA)
        if schema != SCHEMA or isinstance(schema, bool):
            raise InvalidField("schema", schema, f"{SCHEMA}")
        values: dict[str, Any] = {}
        for name, field_spec in specs.items():
            if name in data and data[name] is not None:
                values[name] = field_spec.parse(name, data[name])
            elif field_spec.required is not None:
                raise InvalidField(name, None, field_spec.required)
        job = cls(**values)
        job._check_combination()
        return job

    @classmethod
    def from_json(cls, text: str | bytes) -> GenerationJob:
        return cls.from_dict(parse_json(text, "job"))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready mapping; `from_dict(to_dict())` gives an equal job."""
        out: dict[str, Any] = {"schema": SCHEMA}
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if isinstance(value, FrameRange):
                value = {"first": value.first, "last": value.last}
            elif isinstance(value, Format):
                value = {"width": value.width, "height": value.height}
            elif isinstance(value, (Mode, Matte)):
                value = value.value
            elif isinstance(value, tuple):
                value = [v.to_dict() if isinstance(v, Lora) else v for v in value]
            out[item.name] = value
        return out

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True, ensure_ascii=False)

    def job_hash(self) -> str:
        """A short stable hash of what the take is: equal hashes are replays.

        Where the take is written (`HASH_EXCLUDES`) does not change it.
        """
        data = {k: v for k, v in self.to_dict().items() if k not in HASH_EXCLUDES}
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]

    def replace(self, **changes: Any) -> GenerationJob:
        """A validated copy with some fields changed."""
        data = self.to_dict()
        data.update(changes)
        return GenerationJob.from_dict(data)

    @property
    def matte_method(self) -> Matte:
        """The matte this job gets: its own, else the mask with a mask, else the mode's."""
        if self.matte is not None:
            return self.matte
        return Matte.MASK if self.mask else self.mode.rule.default_matte

    @property
    def background_instruction(self) -> str:
        """What is appended to the prompt for a keyed matte ('' for the others)."""
        method = self.matte_method
        if not method.keyed:
            return ""
        if self.background_prompt is not None:
            return self.background_prompt.strip()
        return BACKGROUND_PROMPTS[method]

    @property
    def effective_prompt(self) -> str:
        """The prompt the model is given: the job's, then the background instruction."""
        instruction = self.background_instruction
        return f"{self.prompt.rstrip()}, {instruction}" if instruction else self.prompt

    def _check_combination(self) -> None:
        rule = self.mode.rule
        if rule.needs_plate and not self.plate:
            raise InvalidField("plate", self.plate, f"a plate image sequence for mode {self.mode}")
        if rule.needs_mask and not self.mask:
            raise InvalidField("mask", self.mask, f"a mask image sequence for mode {self.mode}")
        if not rule.needs_plate and (self.plate or self.mask):
            field_name = "plate" if self.plate else "mask"
            raise InvalidField(
                field_name, getattr(self, field_name), f"nothing for mode {self.mode}"
            )
        if self.region is not None and not self.plate:
            raise InvalidField("region", self.region, "nothing unless a plate is given")
        if self.plate_space is not None and not self.plate:
            raise InvalidField("plate_space", self.plate_space, "nothing unless a plate is given")
        if self.strength is not None and not rule.plate_frames:
            plate_modes = " or ".join(m.value for m in Mode if m.rule.plate_frames)
            raise InvalidField("strength", self.strength, f"nothing unless mode is {plate_modes}")
        if self.condition_frame is not None and not rule.start_frame:
            start_modes = " or ".join(m.value for m in Mode if m.rule.start_frame)
            raise InvalidField(
                "condition_frame", self.condition_frame, f"nothing unless mode is {start_modes}"
            )
        if self.independent_windows and rule.start_frame:
            raise InvalidField(
                "independent_windows",
                True,
                f"false in mode {self.mode} (each window starts from the previous one's frames)",
            )
        self._check_matte()
        if self.step_cache_threshold is not None and self.step_cache is None:
            raise InvalidField(
                "step_cache_threshold",
                self.step_cache_threshold,
                "nothing unless step_cache is set",
            )
        if self.group_offload and self.cpu_offload:
            raise InvalidField("group_offload", True, "false when cpu_offload is on (choose one)")
        if self.window is not None and self.overlap is not None and self.overlap >= self.window:
            raise InvalidField("overlap", self.overlap, f"fewer frames than window ({self.window})")

    def _check_matte(self) -> None:
        method = self.matte_method
        if method is Matte.MASK and not self.mask:
            raise InvalidField("matte", str(method), "a mask for matte mask (give --mask)")
        if method is Matte.DIFFERENCE and not self.mode.rule.plate_frames:
            plate_modes = " or ".join(m.value for m in Mode if m.rule.plate_frames)
            raise InvalidField("matte", str(method), f"difference only in mode {plate_modes}")
        pulled = (Matte.BLACK, Matte.GREEN, Matte.BLUE, Matte.DIFFERENCE)
        names = ", ".join(m.value for m in pulled)
        for name in ("matte_gain", "matte_gamma"):
            if getattr(self, name) is not None and method not in pulled:
                raise InvalidField(
                    name, getattr(self, name), f"nothing unless matte is {names} (not {method})"
                )
        if self.matte_choke is not None and method is Matte.NONE:
            raise InvalidField("matte_choke", self.matte_choke, "nothing unless there is a matte")
        if self.background_prompt is not None and not method.keyed:
            raise InvalidField(
                "background_prompt",
                self.background_prompt,
                f"nothing unless matte is black, green or blue (not {method})",
            )


def field_specs() -> dict[str, FieldSpec]:
    """Every job field's spec, in declaration order."""
    return {item.name: item.metadata[f.METADATA_KEY] for item in dataclasses.fields(GenerationJob)}
