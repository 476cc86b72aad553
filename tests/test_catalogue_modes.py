"""Which weights run which mode: as data in the catalogue, read from model_index.json."""

from __future__ import annotations

import pytest

from genvfx.errors import UnsupportedMode
from genvfx.models.catalogue import FAMILIES, family_of_pipeline_class
from genvfx.models.resolve import resolve_model
from genvfx.pipeline.arguments import ARGUMENTS


def test_every_pipeline_the_catalogue_names_has_arguments() -> None:
    named = {
        cls
        for family in FAMILIES.values()
        for table in (family.pipelines, *family.variants.values())
        for cls in table.values()
    }
    assert named <= set(ARGUMENTS)


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
    assert "LTX-Video, Wan 2.1/2.2" in str(caught.value)
    assert wan.pipeline_for("inpaint", "WanVACEPipeline") == "WanVACEPipeline"
    assert FAMILIES["ltx"].pipeline_for("v2v", "LTXPipeline") == "LTXConditionPipeline"
