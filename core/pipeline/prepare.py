"""Every check a job needs before anything is written, and the take record it starts.

`prepare` resolves the model, checks the colour spaces, opens the plate, fits the region
to a legal model size and plans the windows: a job that fails any of this writes nothing.
`Prepared.new_record` is the take's manifest before any frame exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import __version__
from ..job import FrameRange, GenerationJob
from ..media.colour import check_space, config_name
from ..models.devices import DeviceChoice, choose_device
from ..models.resolve import ModelSource, resolve_model
from ..take.folder import Take
from ..take.process import Writer
from ..take.record import TakeRecord, WindowRecord, now, window_seed
from .canvas import Canvas, Colour, PlateCanvas, free_canvas, plate_canvas
from .plan import Plan, make_plan
from .windows import split


@dataclass(frozen=True)
class Prepared:
    """A job whose every check has passed: nothing is on disk yet."""

    job: GenerationJob
    model: ModelSource
    plan: Plan
    device: DeviceChoice
    ocio_config: str
    working_space: str
    model_space: str
    canvas: Canvas

    def windows(self, chunks: list[FrameRange] | None = None) -> list[WindowRecord]:
        """The take's generation windows with their seeds, over the whole shot or per chunk.

        A farm take is generated chunk by chunk, each chunk split into windows on its own.
        """
        job, plan = self.job, self.plan
        found: list[WindowRecord] = []
        for chunk in chunks or [job.frames]:
            spans = split(len(chunk), plan.window, plan.overlap, self.model.family)
            for span in spans:
                first = chunk.first + span.start
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
            windows=self.windows(chunks),
            model={
                "reference": job.model,
                "path": str(self.model.path),
                "family": self.model.family.key,
                "pipeline": plan.pipeline_class,
                "weights_hash": weights,
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
                **({"chunks": [[c.first, c.last] for c in chunks]} if chunks else {}),
            },
            placement=self.canvas.describe(),
            colour={
                "ocio_config": self.ocio_config,
                "model_space": self.model_space,
                "working_space": self.working_space,
            },
        )


def prepare(job: GenerationJob) -> Prepared:
    """Every check that needs the model, the plate, the OCIO config or the device."""
    model = resolve_model(job.model, job.family, job.allow_network, job.allow_unsafe_weights)
    model.family.pipeline_for(job.mode, model.index_class)
    config = config_name(job.ocio_config)
    working = check_space(config, job.working_space, "working_space")
    model_space = check_space(config, job.model_space, "model_space")
    plate_space = working
    if job.plate_space is not None:
        plate_space = check_space(config, job.plate_space, "plate_space")
    colour = Colour(config, working, model_space, plate_space)
    canvas: Canvas
    if job.mode.rule.needs_plate:
        canvas = plate_canvas(job, model.family, colour)
    else:
        canvas = free_canvas(job, model.family, colour)
    plan = make_plan(job, model, canvas.generated_size, canvas.output_format)
    device = choose_device(job.device, job.dtype)
    return Prepared(job, model, plan, device, config, working, model_space, canvas)


def frame_origin(prepared: Prepared) -> tuple[tuple[int, int], float | None]:
    """Where a take's frames sit (a plate's display-window origin) and their pixel aspect."""
    canvas = prepared.canvas
    if isinstance(canvas, PlateCanvas):
        return canvas.info.display_origin, float(canvas.pixel_aspect)
    return (0, 0), None
