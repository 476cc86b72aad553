"""Which weights run which mode: as data in the catalogue, read from model_index.json."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pytest

from genvfx.errors import UnsupportedMode
from genvfx.models.catalogue import FAMILIES, family_of_pipeline_class
from genvfx.models.resolve import resolve_model
from genvfx.pipeline.arguments import ARGUMENTS, WindowInputs, arguments_for


def test_every_pipeline_the_catalogue_names_has_arguments() -> None:
    named = {
        cls
        for family in FAMILIES.values()
        for table in (family.pipelines, *family.variants.values())
        for cls in table.values()
    }
    assert named <= set(ARGUMENTS)


def windows() -> dict[str, WindowInputs]:
    """One window of each kind the engine makes: with or without plate, mask, image, previous."""
    rng = np.random.default_rng(0)
    plate = rng.random((17, 32, 32, 3)).astype(np.float32)
    mask = np.ones((17, 32, 32), np.float32)
    image = rng.random((32, 32, 3)).astype(np.float32)
    previous = rng.random((9, 32, 32, 3)).astype(np.float32)
    kinds: dict[str, dict[str, Any]] = {
        "text": {},
        "plate": {"plate": plate},
        "plate and mask": {"plate": plate, "mask": mask},
        "image": {"image": image},
        "previous": {"previous": previous},
        "plate and previous": {"plate": plate, "previous": previous},
        "plate, mask and previous": {"plate": plate, "mask": mask, "previous": previous},
        "image and previous": {"image": image, "previous": previous},
    }
    base: dict[str, Any] = {
        "prompt": "p",
        "negative_prompt": "n",
        "frames": 17,
        "width": 32,
        "height": 32,
        "steps": 2,
        "guidance": 1.0,
        "fps": 24.0,
        "strength": 0.6,
        "frame_step": 8,
    }
    return {kind: WindowInputs(**base, **fields) for kind, fields in kinds.items()}


@pytest.mark.parametrize("pipeline_class", sorted(ARGUMENTS))
def test_arguments_are_only_what_the_installed_pipeline_accepts(pipeline_class: str) -> None:
    import diffusers

    call = getattr(diffusers, pipeline_class).__call__
    accepted = set(inspect.signature(call).parameters) - {"self"}
    assert {"generator", "output_type", "callback_on_step_end"} <= accepted, "run_pipeline's own"
    built = []
    for kind, window in windows().items():
        try:
            arguments = arguments_for(pipeline_class, window)
        except ValueError:
            continue  # the class needs an input this kind of window does not have
        built.append(kind)
        assert set(arguments) <= accepted, (kind, sorted(set(arguments) - accepted))
    assert built, "no kind of window builds arguments for this class"


@pytest.mark.parametrize(
    ("builtin", "index_class", "modes"),
    [
        ("builtin:tiny-ltx", "LTXPipeline", {"t2v", "i2v", "v2v", "inpaint"}),
        ("builtin:tiny-wan", "WanPipeline", {"t2v", "v2v"}),
        ("builtin:tiny-wan-i2v", "WanImageToVideoPipeline", {"i2v"}),
        ("builtin:tiny-wan-vace", "WanVACEPipeline", {"t2v", "i2v", "inpaint"}),
    ],
)
def test_builtin_folders_are_recognised_with_their_own_modes(
    builtin: str, index_class: str, modes: set[str]
) -> None:
    model = resolve_model(builtin)
    assert model.index_class == index_class
    recognised = family_of_pipeline_class(index_class)
    assert recognised is not None and recognised.key == model.family.key
    assert model.family.default_size == (64, 64), "the tiny folder narrows its working size"
    assert set(model.family.pipelines_of(index_class)) == modes
    for mode in {"t2v", "i2v", "v2v", "inpaint"} - modes:
        with pytest.raises(UnsupportedMode):
            model.family.pipeline_for(mode, index_class)


def test_refusal_names_the_weights_or_the_families_that_can() -> None:
    wan = FAMILIES["wan"]
    with pytest.raises(UnsupportedMode) as caught:
        wan.pipeline_for("i2v", "WanPipeline")
    assert "WanImageToVideoPipeline or WanVACEPipeline" in str(caught.value)
    with pytest.raises(UnsupportedMode) as caught:
        FAMILIES["cogvideox"].pipeline_for("inpaint")
    assert "LTX-Video, LTX-2, Wan 2.1" in str(caught.value)
    assert wan.pipeline_for("inpaint", "WanVACEPipeline") == "WanVACEPipeline"
    assert FAMILIES["ltx"].pipeline_for("v2v", "LTXPipeline") == "LTXConditionPipeline"
