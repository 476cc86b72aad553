"""The Nuke layer and the engine agree: every job the node can build loads, spelled alike.

The Nuke layer cannot import genvfx (it runs in Nuke's Python), so what it shares with the
engine is checked here: the knobs that fill job fields, the modes and what they need, the
Root colour knobs, and every job dict `settings.build_job` can produce.
"""

from __future__ import annotations

import ast
import itertools
from pathlib import Path
from typing import Any

import pytest

from genvfx.errors import InvalidField
from genvfx.job import GenerationJob, Matte, Mode, field_specs
from genvfx.scripts.colour import ROOT_KNOBS
from genvfx_nuke import settings
from tests.fake_nuke import nk_text

REPO = Path(__file__).resolve().parents[1]
NODE_PY = REPO / "nuke_plugin" / "genvfx_nuke" / "node.py"
GIZMO = REPO / "gizmos" / "GenerateElement.gizmo"


def gizmo_user_knobs() -> list[nk_text.UserKnob]:
    (group,) = [n for n in nk_text.parse_script(GIZMO.read_text(encoding="utf-8")) if n.user_knobs]
    return group.user_knobs


def node_constant(name: str) -> Any:
    for item in ast.parse(NODE_PY.read_text()).body:
        if isinstance(item, ast.Assign) and getattr(item.targets[0], "id", None) == name:
            return ast.literal_eval(item.value)
    raise AssertionError(f"node.py has no constant {name}")


def test_every_knob_a_job_field_names_is_on_the_gizmo_and_read_by_the_node() -> None:
    knobs = {spec.knob for spec in field_specs().values() if spec.knob}
    assert knobs == set(node_constant("VALUE_KNOBS"))
    gizmo_knobs = {knob.name for knob in gizmo_user_knobs()}
    assert knobs <= gizmo_knobs


def test_the_node_knows_the_engine_modes_and_what_they_need() -> None:
    assert Mode.values() == settings.MODES
    assert set(settings.NEEDS_PLATE) == {m.value for m in Mode if m.rule.needs_plate}
    needs_mask = {m.value for m in Mode if m.rule.needs_mask}
    assert needs_mask == {"inpaint"}
    pulldown = next(k for k in gizmo_user_knobs() if k.name == "mode")
    assert tuple(pulldown.items) == Mode.values()


def test_the_node_offers_every_engine_matte() -> None:
    assert ("auto", *Matte.values()) == settings.MATTES
    pulldown = next(k for k in gizmo_user_knobs() if k.name == "matte")
    assert tuple(pulldown.items) == settings.MATTES


def test_matte_entries_are_only_ever_appended() -> None:
    """A .nk file stores a pulldown by index: a saved node's matte must keep its meaning."""
    saved = ("auto", "none", "black", "green", "blue", "mask", "difference", "model")
    assert settings.MATTES[: len(saved)] == saved


def test_the_node_sends_the_root_knobs_the_engine_reads() -> None:
    assert tuple(node_constant("COLOUR_KNOBS")) == ROOT_KNOBS


def _contexts() -> list[settings.Context]:
    out = []
    for plate, mask, saved in itertools.product((True, False), (True, False), (True, False)):
        out.append(
            settings.Context(
                name="Dust_01",
                script_path="/shots/sh010/comp/sh010_comp_v003.nk" if saved else "",
                plate_range=(1001, 1048) if plate else None,
                plate_format=(2048, 858) if plate else None,
                root_range=(1, 100),
                root_format=(1920, 1080),
                has_mask=mask,
            )
        )
    return out


KNOB_VALUES: list[dict[str, Any]] = [
    {"frames": "", "seed": 0, "steps": 0, "guidance": 0.0, "strength": 0.6, "output_root": ""},
    {
        "frames": "1005-1012",
        "seed": 2**31 - 1,
        "steps": 1000,
        "guidance": 100.0,
        "strength": 0.0,
        "output_root": "/tmp/takes",
    },
    {"frames": "1010", "seed": 7.0, "steps": 4, "guidance": 3.5, "strength": 1.0},
    {
        "window": "9",
        "overlap": "0",
        "condition_frame": "1005",
        "region": " 10, 20, 300,200 ",
        "cpu_offload": True,
        "vae_tiling": True,
        "draft": True,
    },
    {
        "frames": " 1001 - 1001 ",
        "negative_prompt": "",
        "output_root": "relative/takes",
        "strength": 0.25,
    },
]


@pytest.mark.parametrize("mode", Mode.values())
@pytest.mark.parametrize("values", KNOB_VALUES, ids=range(len(KNOB_VALUES)))
def test_every_job_the_node_can_build_loads_in_the_engine(
    mode: str, values: dict[str, Any]
) -> None:
    built = 0
    for context in _contexts():
        knobs = {"prompt": "dust plume", "model": "builtin:tiny-ltx", "mode": mode, **values}
        try:
            job = settings.build_job(knobs, context)
        except settings.SettingsError:
            continue
        if Mode(mode).rule.needs_plate:
            job["plate"] = "/shots/sh010/genvfx/Dust_01/inputs/plate.####.exr"
        if Mode(mode).rule.needs_mask:
            job["mask"] = "/shots/sh010/genvfx/Dust_01/inputs/mask.####.exr"
        loaded = GenerationJob.from_dict(job)
        assert loaded.mode == mode and loaded.name == "Dust_01"
        assert loaded.to_dict()["frames"] == job["frames"]
        built += 1
    assert built > 0


def test_a_job_the_node_refuses_is_one_the_engine_refuses_too() -> None:
    context = _contexts()[0]
    with pytest.raises(settings.SettingsError):
        settings.build_job({"prompt": " ", "model": "m", "mode": "t2v"}, context)
    with pytest.raises(InvalidField, match="prompt"):
        GenerationJob.from_dict(
            {"prompt": " ", "model": "m", "frames": "1-2", "output_root": "/t", "name": "x"}
        )


def _record(folder: Path, **changes: Any) -> Any:
    from genvfx.take.record import TakeRecord, WindowRecord

    record = TakeRecord(
        folder=folder,
        status="complete",
        genvfx_version="0",
        created="",
        host="",
        job={"prompt": "dust", "seed": 42, "frames": {"first": 1001, "last": 1004}},
        job_hash="abc",
        name=folder.parent.name,
        version=folder.name,
        pattern=str(folder / f"{folder.parent.name}_{folder.name}.####.exr"),
        first=1001,
        last=1004,
        windows=[WindowRecord(1001, 1004, 9, 0, 42)],
    )
    for key, value in changes.items():
        setattr(record, key, value)
    return record


def test_the_node_reads_take_records_as_the_engine_writes_them(tmp_path: Path) -> None:
    from genvfx.take.record import SCHEMA, TakeRecord
    from genvfx_nuke import takes

    assert SCHEMA in takes.RECORD_SCHEMAS
    folder = tmp_path / "Dust_01" / "v001"
    folder.mkdir(parents=True)
    _record(folder).write()
    (info,) = takes.list_takes(str(tmp_path), "Dust_01")
    engine = TakeRecord.read(folder)
    assert (info.first, info.last, info.pattern) == (engine.first, engine.last, engine.pattern)
    assert (info.seed, info.prompt) == (42, "dust")

    failed = tmp_path / "Dust_01" / "v002"
    failed.mkdir()
    _record(failed, status="failed").write()
    future = tmp_path / "Dust_01" / "v003"
    future.mkdir()
    _record(future, schema=SCHEMA + 1).write()
    assert [t.version for t in takes.list_takes(str(tmp_path), "Dust_01")] == ["v001"]
    with pytest.raises(InvalidField, match="schema"):
        TakeRecord.read(future)
