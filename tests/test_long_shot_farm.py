"""Long shots on the farm: one plan for the shot, chunks cut at windows, the same pixels.

On the tiny Wan VACE model every window after the first is generated from the frames it
shares with the window before (chained). Twelve frames in windows of 5 sharing 2 make four
windows; chunks of 6 frames hold two windows each.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import genvfx_command, openjd_run_all

from genvfx.cli.main import main
from genvfx.errors import InvalidField
from genvfx.farm import tasks as farm
from genvfx.job import GenerationJob
from genvfx.media.exr import read_pixels
from genvfx.pipeline.engine import generate
from genvfx.pipeline.resume import resume
from genvfx.take.carry import CARRY_DIR, Carry, read_carry, save_carry
from genvfx.take.record import TakeRecord

FRAMES = range(1001, 1013)


def job_data(out: Path, name: str, **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "prompt": "a long dust trail",
        "model": "builtin:tiny-wan-vace",
        "frames": "1001-1012",
        "format": "32x32",
        "model_size": "32x32",
        "steps": 1,
        "seed": 3,
        "window": 5,
        "overlap": 2,
        "output_root": str(out),
        "name": name,
    }
    data.update(fields)
    return data


def frames_of(folder: Path) -> dict[int, np.ndarray]:
    name = f"{folder.parent.name}_{folder.name}"
    return {f: read_pixels(folder / f"{name}.{f}.exr") for f in FRAMES}


def assert_same(made: dict[int, np.ndarray], expected: dict[int, np.ndarray]) -> None:
    assert made.keys() == expected.keys()
    for frame, pixels in expected.items():
        assert np.array_equal(made[frame], pixels), f"frame {frame} differs"


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[int, np.ndarray]]:
    """The local takes: chained windows, and the same job with independent windows."""
    out = tmp_path_factory.mktemp("local")
    chained = generate(GenerationJob.from_dict(job_data(out, "chained")))
    independent = generate(
        GenerationJob.from_dict(job_data(out, "independent", independent_windows=True))
    )
    manifest = json.loads(Path(chained.manifest).read_text())
    assert manifest["generated"]["chained"] is True
    assert [w["overlap"] for w in manifest["generated"]["windows"]] == [0, 2, 2, 2]
    assert not (Path(chained.take_dir) / CARRY_DIR).exists(), "a complete take keeps none"
    return {
        "chained": frames_of(Path(chained.take_dir)),
        "independent": frames_of(Path(independent.take_dir)),
    }


def reserved(out: Path, name: str, chunk: int, **fields: Any) -> tuple[Path, GenerationJob]:
    take, _gpu = farm.reserve(GenerationJob.from_dict(job_data(out, name, **fields)), chunk)
    return take.folder, GenerationJob.from_json((take.folder / farm.JOB_FILE).read_text())


def test_the_bundle_runs_chained_chunks_in_order_to_the_local_pixels(
    tmp_path: Path, local: dict[str, dict[int, np.ndarray]]
) -> None:
    (tmp_path / "shot.json").write_text(json.dumps(job_data(tmp_path / "takes", "dust")))
    genvfx = " ".join(genvfx_command())
    template = tmp_path / "bundle" / "template.yaml"
    assert (
        main(
            [
                "farm",
                str(tmp_path / "shot.json"),
                "--chunk",
                "6",
                "--out",
                str(template),
                "--genvfx",
                genvfx,
            ]
        )
        == 0
    )
    take = tmp_path / "takes" / "dust" / "v001"
    record = TakeRecord.read(take)
    assert [(w.first, w.last) for w in record.windows] == [
        (1001, 1005),
        (1004, 1008),
        (1007, 1011),
        (1010, 1012),
    ], "the farm take plans the windows a local run plans"
    assert [str(c) for c in record.chunks] == ["1001-1006", "1007-1012"]
    steps = yaml.safe_load(template.read_text())["steps"]
    assert [s["name"] for s in steps] == ["Generate 1001-1006", "Generate 1007-1012", "Complete"]
    assert steps[1]["dependencies"] == [{"dependsOn": "Generate 1001-1006"}]

    ran = openjd_run_all(template)
    assert ran.returncode == 0, ran.stdout[-3000:]
    assert TakeRecord.read(take).complete
    assert not (take / CARRY_DIR).exists()
    assert_same(frames_of(take), local["chained"])
    stamps = {p: p.stat().st_mtime_ns for p in take.glob("*.exr")}
    again = ["generate", "--job", str(take / farm.JOB_FILE), "--take-dir", str(take)]
    assert main([*again, "--frames", "1007-1012"]) == 0, "a retried task of a complete take"
    assert {p: p.stat().st_mtime_ns for p in take.glob("*.exr")} == stamps


def test_a_chunk_before_its_predecessor_is_refused_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    take, job = reserved(tmp_path, "early", chunk=6)
    second = ["generate", "--job", str(take / farm.JOB_FILE), "--take-dir", str(take)]
    assert main([*second, "--frames", "1007-1012"]) == 2
    said = capsys.readouterr().err
    assert "window 1004-1008 (chunk 1001-1006)" in said
    assert ".carry/1004.npz" in said and "Traceback" not in said
    assert sorted(p.name for p in take.iterdir()) == ["job.json", "manifest.json"]

    generate(job.replace(frames="1001-1006"), take=farm.take_at(take)[0])
    assert (take / CARRY_DIR / "1004.npz").is_file()
    assert not (take / "early_v001.1007.exr").exists(), "frames 1007-1008 are the next chunk's"


def test_independent_windows_give_the_local_pixels_in_any_order(
    tmp_path: Path, local: dict[str, dict[int, np.ndarray]]
) -> None:
    take, job = reserved(tmp_path, "loose", chunk=6, independent_windows=True)
    record = TakeRecord.read(take)
    assert record.generated["chained"] is False and not farm.in_order(record, job)
    for chunk in reversed(record.chunks):
        generate(job.replace(frames=str(chunk)), take=farm.take_at(take)[0])
    assert not (take / CARRY_DIR).exists()
    assert main(["farm-complete", str(take)]) == 0
    assert_same(frames_of(take), local["independent"])
    assert any(not np.array_equal(local["independent"][f], local["chained"][f]) for f in FRAMES), (
        "independent windows are not the chained ones"
    )


def test_a_resume_starts_at_the_first_window_without_a_saved_state(
    tmp_path: Path, local: dict[str, dict[int, np.ndarray]]
) -> None:
    take, job = reserved(tmp_path, "resumed", chunk=6)
    generate(job.replace(frames="1001-1006"), take=farm.take_at(take)[0])
    stages: list[Any] = []
    resume(take, on_event=stages.append)
    said = [e.message for e in stages if getattr(e, "stage", "") in ("resume", "generate")]
    assert said == [
        "2 window(s) to generate",
        "window 1/2: frames 1007-1011, 5 frames at 32x32",
        "window 2/2: frames 1010-1012, 5 frames at 32x32",
    ]
    assert TakeRecord.read(take).complete
    assert_same(frames_of(take), local["chained"])


def test_a_carry_file_from_elsewhere_is_refused(tmp_path: Path) -> None:
    frames = np.zeros((2, 4, 4, 3), np.float32)
    save_carry(tmp_path, 1004, 1008, "0123456789abcdef", Carry(frames, frames[-1]))
    assert read_carry(tmp_path, 1004, 1008, "0123456789abcdef", 2, (4, 4)) is not None
    assert read_carry(tmp_path, 1001, 1005, "0123456789abcdef", 2, (4, 4)) is None
    with pytest.raises(InvalidField, match="job 1111111111111111"):
        read_carry(tmp_path, 1004, 1008, "1111111111111111", 2, (4, 4))
    with pytest.raises(InvalidField, match=r"\(3, 4, 4, 3\)"):
        read_carry(tmp_path, 1004, 1008, "0123456789abcdef", 3, (4, 4))
    path = tmp_path / CARRY_DIR / "1004.npz"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(InvalidField, match="whole"):
        read_carry(tmp_path, 1004, 1008, "0123456789abcdef", 2, (4, 4))
    assert not list((tmp_path / CARRY_DIR).glob(".*partial*"))


def test_independent_windows_are_refused_where_each_starts_from_the_last() -> None:
    with pytest.raises(InvalidField, match="independent_windows"):
        GenerationJob.from_dict(
            {**job_data(Path("/t"), "x"), "mode": "i2v", "plate": "/p.####.exr"}
            | {"independent_windows": True}
        )
