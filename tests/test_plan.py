"""Model-legal sizes and frame counts, as data from the catalogue."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from genvfx.errors import UnsupportedMode
from genvfx.job import Format
from genvfx.models.catalogue import FAMILIES, family_of_pipeline_class


def test_legal_frame_counts() -> None:
    ltx, wan = FAMILIES["ltx"], FAMILIES["wan"]
    assert [ltx.legal_frame_count(n) for n in (1, 2, 9, 10, 121)] == [1, 9, 9, 17, 121]
    assert [wan.legal_frame_count(n) for n in (1, 3, 5, 6, 81)] == [1, 5, 5, 9, 81]


@given(st.sampled_from(sorted(FAMILIES)), st.integers(8, 8192), st.integers(8, 8192))
def test_legal_size_is_a_multiple_within_budget_and_keeps_aspect(
    key: str, width: int, height: int
) -> None:
    family = FAMILIES[key]
    size = family.legal_size(Format(width, height))
    m = family.spatial_multiple
    assert size.width % m == 0 and size.height % m == 0
    assert size.width * size.height <= family.max_pixels * 1.05
    if min(width, height) >= 4 * m and max(width, height) / min(width, height) < 4:
        assert abs(math.log(size.aspect / (width / height))) < 0.25


def test_legal_size_keeps_legal_requests_unchanged() -> None:
    assert FAMILIES["ltx"].legal_size(Format(64, 64)) == Format(64, 64)
    assert FAMILIES["wan"].legal_size(Format(832, 480)) == Format(832, 480)
    big = FAMILIES["ltx"].legal_size(Format(3840, 2160))
    assert big.width * big.height <= FAMILIES["ltx"].max_pixels * 1.05
    assert abs(big.aspect - 16 / 9) < 0.1


def test_families_are_recognised_from_their_pipeline_classes() -> None:
    assert family_of_pipeline_class("LTXPipeline") is FAMILIES["ltx"]
    assert family_of_pipeline_class("WanPipeline") is FAMILIES["wan"]
    assert family_of_pipeline_class("StableDiffusionPipeline") is None


def test_unsupported_mode_names_the_families_that_can() -> None:
    with pytest.raises(UnsupportedMode, match="Wan"):
        FAMILIES["cogvideox"].pipeline_for("inpaint")
