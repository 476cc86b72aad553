"""Every check a job needs before anything is written, and the take record it starts.

`prepare` resolves the model, checks the colour spaces, opens the plate, fits the region
to a legal model size and plans the windows: a job that fails any of this writes nothing.
`Prepared.new_record` is the take's manifest before any frame exists.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from ..errors import InvalidField
from ..job import FrameRange, GenerationJob, Matte
from ..media.colour import (
    ModelSpace,
    ReturnRange,
    View,
    check_model_space,
    check_space,
    config_name,
    return_range,
)
from ..models.devices import DeviceChoice, choose_device
from ..models.resolve import ModelSource, file_hash, resolve_model
from ..take.folder import Take
from ..take.process import Writer
from ..take.record import TakeRecord, WindowRecord, now, window_seed
from .alpha_model import alpha_record, check_alpha_windows
from .canvas import Canvas, Colour, PlateCanvas, free_canvas, plate_canvas
from .chain import chained
from .hdr import HDR_SPACE, check_hdr, check_hdr_windows, hdr_record
from .levers import Levers, check_levers
from .parallel import parallel_record
from .plan import Plan, make_plan
from .reference import check_reference, reference_plan, reference_record
from .two_stage import check_two_stage, two_stage_model, two_stage_record
from .windows import split


@dataclass(frozen=True)
class LoadedLora:
    """A job's LoRA file, found, with its hash (what the take records)."""

    path: Path
    weight: float
    sha256: str

    def describe(self) -> dict[str, object]:
        return {"path": str(self.path), "weight": self.weight, "sha256": self.sha256}


@dataclass(frozen=True)
class Prepared:
    """A job whose every check has passed: nothing is on disk yet."""

    job: GenerationJob
    model: ModelSource
    plan: Plan
    device: DeviceChoice
    ocio_config: str
    working_space: str
    model_space: ModelSpace
    canvas: Canvas
    loras: tuple[LoadedLora, ...] = field(default=())
    hdr_space: str | None = None
    reference: LoadedLora | None = None

    @property
    def alpha_pass(self) -> bool:
        """The model's alpha pass runs: matte `model`, unless strength 0 keeps the plate."""
        keeps = isinstance(self.canvas, PlateCanvas) and self.canvas.keeps_plate
        return self.job.matte_method is Matte.MODEL and not keeps

    def passes(self) -> dict[str, object]:
        """The adapter passes run over each window's frames, as the take records them."""
        passes: dict[str, object] = {}
        if self.job.hdr:
            passes.update(hdr_record(self.model))
        if self.alpha_pass:
            passes.update(alpha_record(self.model))
        passes.update(two_stage_record(self.job, self.model, self.plan))
        passes.update(self.reference_record())
        return passes

    def windows(self) -> list[WindowRecord]:
        """The take's generation windows with their seeds: one plan for the whole shot,
        whoever generates it (a farm take's chunks are cut at window starts)."""
        job, plan = self.job, self.plan
        found: list[WindowRecord] = []
        for span in split(len(job.frames), plan.window, plan.overlap, self.model.family):
            first = job.frames.first + span.start
            found.append(
                WindowRecord(
                    first=first,
                    last=first + span.count - 1,
                    generated=span.generated,
                    overlap=span.overlap,
                    seed=window_seed(job.seed, first - job.frames.first),
                )
            )
        return found

    def returns(self) -> ReturnRange:
        """The scene-linear values the model space gives back (recorded; warned when narrow)."""
        return return_range(self.ocio_config, self.working_space, self.model_space)

    def matte_settings(self) -> dict[str, object]:
        canvas = self.canvas
        settings = canvas.matte.to_dict()
        if isinstance(canvas, PlateCanvas) and canvas.keeps_plate:
            settings["method"] = "plate"
        return settings

    def reference_record(self) -> dict[str, object]:
        if self.reference is None:
            return {}
        return reference_record(self.model, str(self.reference.path), self.reference.sha256)

    def load_loras(self) -> tuple[tuple[Path, float], ...]:
        """Every LoRA the pipeline loads: the job's, then the IC-LoRA of a reference."""
        loaded = (*self.loras, *([self.reference] if self.reference else []))
        return tuple((lora.path, lora.weight) for lora in loaded)

    def new_record(
        self,
        take: Take,
        weights: str,
        status: str = "running",
        chunks: list[FrameRange] | None = None,
    ) -> TakeRecord:
        """The take's record before any frame is written."""
        job, plan = self.job, self.plan
        writer = Writer.this()
        return TakeRecord(
            folder=take.folder,
            status=status,
            genvfx_version=__version__,
            created=now(),
            host=writer.host,
            pid=writer.pid,
            process_started=writer.started,
            job=job.to_dict(),
            job_hash=job.job_hash(),
            name=take.name,
            version=take.label,
            pattern=take.pattern(job.frames.last),
            first=job.frames.first,
            last=job.frames.last,
            windows=self.windows(),
            model={
                "reference": job.model,
                "path": str(self.model.path),
                "family": self.model.family.key,
                "pipeline": plan.pipeline_class,
                "weights_hash": weights,
                "loras": [lora.describe() for lora in self.loras],
            },
            generated={
                "frames": plan.generated_frames,
                "width": plan.generated_size.width,
                "height": plan.generated_size.height,
                "window": plan.window,
                "overlap": plan.overlap,
                "trimmed_to": len(job.frames),
                "resized_to": {
                    "width": plan.output_format.width,
                    "height": plan.output_format.height,
                },
                "steps": plan.steps,
                "guidance": plan.guidance,
                "strength": plan.strength,
                "fps": plan.fps,
                "device": self.device.device,
                "dtype": self.device.dtype,
                "levers": dataclasses.asdict(Levers.of(job)),
                "parallel": parallel_record(job.gpus, self.model.path, job.attention_backend),
                "passes": self.passes(),
                "chained": chained(job, plan.pipeline_class, plan.strength),
                **({"chunks": [[c.first, c.last] for c in chunks]} if chunks else {}),
            },
            placement=self.canvas.describe(),
            colour={
                "ocio_config": self.ocio_config,
                "model_space": str(self.model_space),
                "model_view": isinstance(self.model_space, View),
                "working_space": self.working_space,
                "returns": self.returns().to_dict(),
                "output_space": self.hdr_space or str(self.model_space),
            },
            matte={
                **self.matte_settings(),
                "background_prompt": job.background_instruction,
                "effective_prompt": job.effective_prompt,
            },
        )


def prepare(job: GenerationJob) -> Prepared:
    """Every check that needs the model, the plate, the OCIO config or the device."""
    model = resolve_model(job.model, job.family, job.allow_network, job.allow_unsafe_weights)
    model.family.pipeline_for(job.mode, model.index_class)
    model = two_stage_model(job, model)
    check_reference(job, model)
    config = config_name(job.ocio_config)
    working = check_space(config, job.working_space, "working_space")
    model_space = check_model_space(config, job.model_space)
    plate_space = working
    if job.plate_space is not None:
        plate_space = check_space(config, job.plate_space, "plate_space")
    hdr_space = None
    if job.hdr:
        check_hdr(job, model)
        hdr_space = check_space(config, HDR_SPACE, "hdr")
    colour = Colour(config, working, hdr_space or model_space, plate_space)
    canvas: Canvas
    if job.mode.rule.needs_plate:
        canvas = plate_canvas(job, model.family, colour)
    else:
        canvas = free_canvas(job, model.family, colour)
    plan = make_plan(job, model, canvas.generated_size, canvas.output_format)
    check_two_stage(job, model, plan)
    check_hdr_windows(
        job, len(plan.windows), plan.window, chained(job, plan.pipeline_class, plan.strength)
    )
    plan = reference_plan(job, model, plan)
    device = choose_device(job.device, job.dtype)
    check_levers(Levers.of(job), model.path, device)
    loras = tuple(_found_lora(lora.path, lora.weight) for lora in job.loras)
    reference = None
    if job.reference_lora is not None:
        reference = _found_lora(job.reference_lora, 1.0, "reference_lora")
    prepared = Prepared(
        job, model, plan, device, config, working, model_space, canvas, loras, hdr_space, reference
    )
    if prepared.alpha_pass:
        check_alpha_windows(model, plan.generated_size, (w.generated for w in prepared.windows()))
    return prepared


def _found_lora(reference: str, weight: float, name: str = "loras") -> LoadedLora:
    path = Path(reference).expanduser()
    if not path.is_file():
        raise InvalidField(name, reference, "an existing .safetensors file")
    try:
        with path.open("rb") as handle:
            header = handle.read(8)
    except OSError as exc:
        raise InvalidField(name, reference, f"a readable file ({exc.strerror})") from None
    if len(header) < 8 or int.from_bytes(header, "little") > path.stat().st_size:
        raise InvalidField(name, reference, "a safetensors file (its header is not one)")
    return LoadedLora(path.resolve(), weight, file_hash(path))


def frame_origin(prepared: Prepared) -> tuple[tuple[int, int], float | None]:
    """Where a take's frames sit (a plate's display-window origin) and their pixel aspect."""
    canvas = prepared.canvas
    if isinstance(canvas, PlateCanvas):
        return canvas.info.display_origin, float(canvas.pixel_aspect)
    return (0, 0), None
