"""Long shots: windows that cover every frame once, conditioning on the previous window,
smooth cross-fades, and memory that does not grow with the length of the shot."""

from __future__ import annotations

import gc
import itertools
import json
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from genvfx.errors import InvalidField
from genvfx.events import Event, Stage
from genvfx.job import GenerationJob
from genvfx.models.catalogue import FAMILIES
from genvfx.pipeline.arguments import WindowInputs, arguments_for, window_class
from genvfx.pipeline.engine import generate
from genvfx.pipeline.windows import blend, crossfade, split, window_length


@given(
    total=st.integers(1, 400),
    k=st.integers(1, 12),
    overlap=st.integers(0, 20),
    family=st.sampled_from(sorted(FAMILIES)),
)
def test_windows_cover_the_shot_with_legal_lengths(
    total: int, k: int, overlap: int, family: str
) -> None:
    fam = FAMILIES[family]
    window = fam.frame_step * k + 1
    overlap = min(overlap, window - 1)
    spans = split(total, window, overlap, fam)
    assert spans[0].start == 0 and spans[0].overlap == 0
    assert spans[-1].end == total
    for span in spans:
        assert 1 <= span.count <= window
        assert fam.is_legal_frame_count(span.generated)
        assert span.count <= span.generated < span.count + fam.frame_step
    for before, after in itertools.pairwise(spans):
        assert after.start == before.end - after.overlap
        assert after.overlap == min(overlap, before.count - 1)
        assert after.end > before.end


def test_a_window_the_model_cannot_take_is_refused() -> None:
    with pytest.raises(InvalidField) as caught:
        window_length(FAMILIES["ltx"], 20)
    assert caught.value.field == "window" and "8k+1" in str(caught.value)
    with pytest.raises(InvalidField):
        window_length(FAMILIES["wan"], 85)
    assert window_length(FAMILIES["wan"], None) == 81


def test_crossfade_rises_smoothly_from_the_previous_window_to_the_next() -> None:
    weights = crossfade(7)
    assert (weights > 0).all() and (weights < 1).all()
    assert (np.diff(weights) > 0).all()
    np.testing.assert_allclose(weights + weights[::-1], 1.0, atol=1e-6)
    previous = np.zeros((7, 2, 2, 3), np.float32)
    current = np.ones((7, 2, 2, 3), np.float32)
    mixed = blend(previous, current)
    np.testing.assert_allclose(mixed[:, 0, 0, 0], weights)


def inputs(**fields: Any) -> WindowInputs:
    base: dict[str, Any] = {
        "prompt": "p",
        "negative_prompt": "",
        "frames": 17,
        "width": 32,
        "height": 32,
        "steps": 2,
        "guidance": 1.0,
        "fps": 24.0,
        "strength": 0.6,
        "frame_step": 8,
    }
    base.update(fields)
    return WindowInputs(**base)


def test_each_pipeline_takes_the_previous_window_its_own_way() -> None:
    previous = np.random.default_rng(0).random((5, 32, 32, 3)).astype(np.float32)
    plate = np.full((17, 32, 32, 3), 0.25, np.float32)
    mask = np.ones((17, 32, 32), np.float32)

    vace = arguments_for(
        "WanVACEPipeline", inputs(frame_step=4, plate=plate, mask=mask, previous=previous)
    )
    assert np.array_equal(vace["video"][0, :5], previous)
    assert (vace["mask"][0, :5] == 0).all() and (vace["mask"][0, 5:] == 0.6).all()

    wan_i2v = arguments_for("WanImageToVideoPipeline", inputs(frame_step=4, previous=previous))
    assert np.array_equal(wan_i2v["image"][0].permute(1, 2, 0).numpy(), previous[0])

    v2v = arguments_for("WanVideoToVideoPipeline", inputs(plate=plate, previous=previous))
    assert np.array_equal(v2v["video"][0, :5], previous)
    assert (v2v["video"][0, 5:] == 0.25).all() and v2v["strength"] == 0.6

    assert window_class("LTXPipeline", continues=True) == "LTXConditionPipeline"
    assert window_class("LTXPipeline", continues=False) == "LTXPipeline"
    ltx = arguments_for("LTXConditionPipeline", inputs(plate=plate, previous=previous))
    plate_condition, previous_condition = ltx["conditions"]
    assert plate_condition.strength == pytest.approx(0.4)
    assert previous_condition.strength == 1.0
    assert len(previous_condition.video) == 1  # 5 frames: the longest legal (8k+1) run is 1
    text = arguments_for("WanPipeline", inputs(previous=previous))
    assert "video" not in text and "image" not in text


def t2v_job(out: Path, frames: int, name: str, **fields: Any) -> GenerationJob:
    data: dict[str, Any] = {
        "prompt": "a long smoke trail",
        "model": "builtin:tiny-wan",
        "frames": f"1001-{1000 + frames}",
        "format": "192x192",
        "model_size": "32x32",
        "steps": 1,
        "window": 33,
        "overlap": 4,
        "output_root": str(out),
        "name": name,
        "compression": "none",
    }
    data.update(fields)
    return GenerationJob.from_dict(data)


def peak_traced(job: GenerationJob) -> tuple[int, Any]:
    gc.collect()
    tracemalloc.start()
    try:
        done = generate(job)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, done


@pytest.mark.slow
def test_a_200_frame_shot_runs_in_windows_in_bounded_memory(tmp_path: Path) -> None:
    """Every output frame is 192x192 RGBA float (0.6 MB): holding the shot would cost 120 MB
    at 200 frames, four times the 50-frame run. Memory traced by Python (numpy included)
    must stay within a small margin of the 50-frame peak."""
    generate(t2v_job(tmp_path, 9, "warm", window=9))
    peak_50, _ = peak_traced(t2v_job(tmp_path, 50, "short"))
    stages: list[Event] = []
    job = t2v_job(tmp_path, 200, "long")
    gc.collect()
    tracemalloc.start()
    try:
        done = generate(job, on_event=stages.append)
        _, peak_200 = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert len(done.frames) == 200
    names = sorted(Path(p).name for p in done.frames)
    assert names[0] == "long_v001.1001.exr" and names[-1] == "long_v001.1200.exr"
    assert all(Path(p).is_file() for p in done.frames)
    manifest = json.loads(Path(done.manifest).read_text())
    windows = manifest["generated"]["windows"]
    assert len(windows) == 7
    assert windows[0]["first"] == 1001 and windows[-1]["last"] == 1200
    assert sum(isinstance(e, Stage) and e.stage == "generate" for e in stages) == 7
    assert peak_200 < peak_50 * 1.25 + 2**19, (peak_50, peak_200)


@pytest.mark.slow
def test_ltx_windows_continue_through_condition_frames(tmp_path: Path) -> None:
    job = t2v_job(
        tmp_path,
        30,
        "ltx",
        model="builtin:tiny-ltx",
        format="64x64",
        model_size="64x64",
        window=17,
        overlap=9,
        steps=2,
    )
    done = generate(job)
    manifest = json.loads(Path(done.manifest).read_text())
    assert [w["overlap"] for w in manifest["generated"]["windows"]] == [0, 9, 9]
    assert len(done.frames) == 30
