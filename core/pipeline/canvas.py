"""Where a generation sits in the output: a free frame (t2v) or a region of a plate.

A canvas turns plate frames into model inputs (working space -> model space, crop the fit
window, resize to the model size) and model frames into take frames (resize back, model
space -> working space, the matte, paste into the plate's display window). Only the
region goes through the model; everything outside it, and everything where the matte or the
plate's data window leaves alpha 0, is exactly 0 in the take, so a merge over the plate
leaves those pixels (values above 1.0 included) as they were. At strength 0 no model runs and
the take's pixels are the plate's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..errors import InvalidField
from ..job import Format, FrameRange, GenerationJob, Matte
from ..media.colour import ModelSpace, convert, from_model_space, to_model_space
from ..media.device_post import DevicePost, post_device
from ..media.geometry import (
    Fit,
    Region,
    from_model,
    make_fit,
    mask_bbox,
    mask_to_model,
    paste,
    region_of_interest,
    to_model,
)
from ..media.matte import (
    MatteSettings,
    difference_alpha,
    difference_matte,
    key,
    mask_alpha,
    model_matte,
    with_alpha,
)
from ..media.plates import PlateInfo, PlateSequence, open_mask, open_plate, require_same_format
from ..media.resize import resize
from ..models.catalogue import Family


@dataclass(frozen=True)
class Colour:
    config: str
    working: str
    model: ModelSpace
    plate: str


class Canvas(Protocol):
    """What the engine needs from the place a generation lands in."""

    @property
    def generated_size(self) -> Format: ...

    @property
    def output_format(self) -> Format: ...

    @property
    def matte(self) -> MatteSettings: ...

    def describe(self) -> dict[str, object]: ...

    def element(self, frame: int, pixels: np.ndarray) -> np.ndarray:
        """A take frame (H, W, 4) in working space from one model frame.

        A model frame is (h, w, 3), or (h, w, 4) with the straight alpha of the model's own
        alpha pass (matte `model`) as its fourth channel.
        """
        ...


@dataclass(frozen=True)
class FreeCanvas:
    """Text-to-video without a plate: the whole frame, keyed by the job's matte."""

    generated_size: Format
    output_format: Format
    colour: Colour
    matte: MatteSettings
    post: DevicePost | None = None
    """Post-processing with torch on the pipeline's device (None: numpy on the CPU)."""

    def describe(self) -> dict[str, object]:
        out: dict[str, object] = {"kind": "frame", "alpha": self.matte.method}
        if self.post is not None:
            out["post"] = self.post.describe(*self._conversion)
        return out

    @property
    def _conversion(self) -> tuple[str, ModelSpace, str]:
        return self.colour.config, self.colour.model, self.colour.working

    def element(self, frame: int, pixels: np.ndarray) -> np.ndarray:
        size = self.output_format
        if self.post is not None and self.matte.method != Matte.MODEL.value:
            return self.post.free_element(
                pixels, self._conversion, size.width, size.height, self.matte
            )
        colour = pixels[..., :3]
        rgb = from_model_space(colour, self.colour.config, self.colour.model, self.colour.working)
        if self.matte.method == Matte.MODEL.value:
            rgba = resize(np.dstack([rgb, pixels[..., 3]]), size.width, size.height)
            return model_matte(rgba[..., :3], rgba[..., 3], self.matte)
        rgb = resize(rgb, size.width, size.height)
        return key(rgb, self.matte)


@dataclass(frozen=True)
class PlateCanvas:
    """A region of a plate: the mask's box (plus a margin) over the whole shot, or the frame."""

    plate: PlateSequence
    mask: PlateSequence | None
    info: PlateInfo
    fit: Fit
    matte: MatteSettings
    colour: Colour
    keeps_plate: bool
    data: tuple[slice, slice] | None
    """The part of the region (rows, columns) inside the plate's data window (None: the whole region)."""
    post: DevicePost | None = None
    """Resizes model frames to the region with torch on the pipeline's device (None:
    OpenImageIO on the CPU); colour and matte stay on the CPU."""

    @property
    def generated_size(self) -> Format:
        return self.fit.model

    @property
    def output_format(self) -> Format:
        return self.info.format

    @property
    def pixel_aspect(self) -> float:
        return self.info.pixel_aspect

    def describe(self) -> dict[str, object]:
        r, w = self.fit.region, self.fit.window
        return {
            "kind": "plate",
            "plate": self.plate.pattern,
            "layer": self.info.layer,
            "mask": self.mask.pattern if self.mask else None,
            "format": {"width": self.info.format.width, "height": self.info.format.height},
            "pixel_aspect": self.info.pixel_aspect,
            "region": {"x": r.x, "y": r.y, "width": r.width, "height": r.height},
            "window": {"x": w.x, "y": w.y, "width": w.width, "height": w.height},
            "feather": self.matte.feather,
            "alpha": "plate" if self.keeps_plate else self.matte.method,
            **({"post": self._post_record} if self.post is not None else {}),
        }

    @property
    def _post_record(self) -> dict[str, object]:
        assert self.post is not None
        return {"device": post_device(self.post.device), "resize": "lanczos3", "colour": "ocio"}

    def _back(self, image: np.ndarray) -> np.ndarray:
        """A model-size image at the region's size."""
        return from_model(image, self.fit, self.post.resize if self.post is not None else None)

    def model_frame(self, frame: int) -> np.ndarray:
        """The plate at `frame` as the model sees it: (h, w, 3) model space at the model size.

        Only the fit window is converted to model space: it is all the model sees.
        """
        rgb = np.array(self.plate.read(frame)[:, :, :3])
        win, size = self.fit.window, self.info.format
        rows = slice(max(win.y, 0), min(win.bottom, size.height))
        cols = slice(max(win.x, 0), min(win.right, size.width))
        rgb[rows, cols] = to_model_space(
            rgb[rows, cols], self.colour.config, self.colour.plate, self.colour.model
        )
        return np.clip(to_model(rgb, self.fit), 0.0, 1.0)

    def model_mask(self, frame: int) -> np.ndarray:
        if self.mask is None:
            return np.ones((self.fit.model.height, self.fit.model.width), np.float32)
        return mask_to_model(self.mask.read(frame), self.fit)

    def element(self, frame: int, pixels: np.ndarray) -> np.ndarray:
        region = self.fit.region
        if self.keeps_plate:
            return paste(self.info.format, region, self._data_only(self._plate_element(frame)))
        display = self._back(np.clip(pixels, 0.0, 1.0))
        colour = display[..., :3]
        rgb = from_model_space(colour, self.colour.config, self.colour.model, self.colour.working)
        method = self.matte.method
        if method == Matte.MODEL.value:
            alpha = display[..., 3]
            if self.mask is not None:
                alpha = alpha * np.clip(region.crop(self.mask.read(frame)), 0.0, 1.0)
            rgba = model_matte(rgb, alpha, self.matte)
        elif method == Matte.MASK.value and self.mask is not None:
            alpha = region.crop(mask_alpha(self.mask.read(frame), self.matte))
            rgba = with_alpha(rgb * alpha[:, :, None], alpha)
        elif method == Matte.DIFFERENCE.value:
            seen = difference_alpha(
                np.clip(pixels, 0.0, 1.0), self.model_frame(frame), self.matte.gain
            )
            rgba = difference_matte(rgb, np.clip(self._back(seen), 0.0, 1.0), self.matte)
        else:
            rgba = key(rgb, self.matte)
        return paste(self.info.format, region, self._data_only(rgba))

    def _plate_element(self, frame: int) -> np.ndarray:
        """The plate's own pixels over the region, opaque: merged over the plate, the plate."""
        rgb = self.fit.region.crop(self.plate.read(frame))[:, :, :3]
        if self.colour.plate != self.colour.working:
            rgb = convert(rgb, self.colour.config, self.colour.plate, self.colour.working)
        return np.concatenate([rgb, np.ones((*rgb.shape[:2], 1), np.float32)], axis=2)

    def _data_only(self, rgba: np.ndarray) -> np.ndarray:
        """Alpha and colour 0 where the plate has no data (outside its data window)."""
        if self.data is None:
            return rgba
        kept = np.zeros_like(rgba)
        kept[self.data] = rgba[self.data]
        return kept


def matte_settings(job: GenerationJob, default_feather: float = 0.0) -> MatteSettings:
    """The job's matte with its controls (defaults filled in)."""
    method = job.matte_method
    feather_px = job.feather
    if feather_px is None:
        feather_px = default_feather if method is Matte.MASK else 0.0
    return MatteSettings(
        method.value,
        gain=job.matte_gain if job.matte_gain is not None else 1.0,
        gamma=job.matte_gamma if job.matte_gamma is not None else 1.0,
        choke=job.matte_choke or 0.0,
        feather=feather_px,
    )


def free_canvas(job: GenerationJob, family: Family, colour: Colour) -> FreeCanvas:
    output = job.format or Format(*family.default_size)
    wanted = output
    if job.model_size is not None:
        scale = (
            job.model_size.width * job.model_size.height / (output.width * output.height)
        ) ** 0.5
        wanted = Format(max(1, round(output.width * scale)), max(1, round(output.height * scale)))
    post = DevicePost(job.device, half=job.pixel_type == "half")
    return FreeCanvas(family.legal_size(wanted), output, colour, matte_settings(job), post)


def plate_frames(job: GenerationJob) -> FrameRange:
    """The plate frames a job reads: its range, or only the frame a start-frame mode starts from."""
    if job.mode.rule.start_frame:
        first = job.condition_frame if job.condition_frame is not None else job.frames.first
        return FrameRange(first, first)
    return job.frames


def plate_canvas(job: GenerationJob, family: Family, colour: Colour) -> PlateCanvas:
    """Open the plate (and mask), find the region over the whole shot and fit it to the model.

    Every frame the job needs must exist (missing ones are listed) before anything is written.
    """
    if job.plate is None:
        raise InvalidField("plate", None, f"a plate image sequence for mode {job.mode}")
    plate = open_plate(job.plate, plate_frames(job), job.plate_layer)
    info = plate.info
    if job.format is not None and job.format != info.format:
        raise InvalidField(
            "format",
            str(job.format),
            f"the plate's format {info.format} (a plate take is written in the plate's format), "
            "or no format",
        )
    mask = None
    if job.mask is not None:
        mask = open_mask(job.mask, job.frames)
        require_same_format(info, mask.info)
    if job.region is not None:
        region = _given_region(job.region, info.format)
    else:
        box: Region | None = None
        if mask is not None:
            box = mask_bbox(mask.read(frame) for frame in job.frames)
            if box is None and job.mode.rule.needs_mask:
                raise InvalidField(
                    "mask",
                    job.mask,
                    f"a mask with some white (non-zero) pixels in frames {job.frames}",
                )
        margin = job.margin if job.margin is not None else _default_margin(box)
        region = region_of_interest(box, info.format, margin)
    budget = job.model_size or Format(*family.default_size)
    fit = make_fit(
        region,
        info.format,
        family,
        max_pixels=budget.width * budget.height,
        pixel_aspect=info.pixel_aspect,
    )
    strength = job.strength if job.strength is not None else job.mode.rule.default_strength
    return PlateCanvas(
        plate=plate,
        mask=mask,
        info=info,
        fit=fit,
        matte=matte_settings(job, max(1.0, info.format.width / 200)),
        colour=colour,
        keeps_plate=job.mode.rule.plate_frames and strength == 0.0,
        data=_data_part(info, region),
        post=DevicePost(job.device),
    )


def _data_part(info: PlateInfo, region: Region) -> tuple[slice, slice] | None:
    """The part of `region` (region rows, columns) the plate's data window covers."""
    window = info.data_window
    x0 = max(window.x - info.display_origin[0] - region.x, 0)
    y0 = max(window.y - info.display_origin[1] - region.y, 0)
    x1 = min(window.x + window.width - info.display_origin[0] - region.x, region.width)
    y1 = min(window.y + window.height - info.display_origin[1] - region.y, region.height)
    if (x0, y0, x1, y1) == (0, 0, region.width, region.height):
        return None
    return slice(y0, max(y0, y1)), slice(x0, max(x0, x1))


def _given_region(box: tuple[int, int, int, int], frame: Format) -> Region:
    """The job's own region, which must lie inside the plate's display window."""
    region = Region(*box)
    if region.x + region.width > frame.width or region.y + region.height > frame.height:
        raise InvalidField(
            "region", ",".join(map(str, box)), f"a box inside the plate's {frame} display window"
        )
    return region


def _default_margin(box: Region | None) -> int:
    """A tenth of the mask box's longer side (at least 8 px) of context around it."""
    if box is None:
        return 0
    return max(8, round(max(box.width, box.height) / 10))
