"""The job value: JSON round trips and one clear error per invalid field, with nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genvfx.cli.main import main
from genvfx.errors import InvalidField
from genvfx.job import Format, FrameRange, GenerationJob

VALID = {
    "prompt": "dust plume",
    "model": "builtin:tiny-ltx",
    "frames": "1001-1009",
    "output_root": "/tmp/unused",
    "name": "dust",
    "seed": 7,
}


def test_round_trip_through_json_keeps_every_field() -> None:
    job = GenerationJob.from_dict(
        {**VALID, "format": "64x48", "steps": 3, "guidance": 2.5, "compression": "piz", "fps": 24}
    )
    again = GenerationJob.from_json(job.to_json())
    assert again == job
    assert again.frames == FrameRange(1001, 1009)
    assert again.format == Format(64, 48)
    assert again.job_hash() == job.job_hash()


def test_hash_changes_with_any_parameter_but_not_the_output_folder() -> None:
    job = GenerationJob.from_dict(VALID)
    assert job.replace(seed=8).job_hash() != job.job_hash()
    assert job.replace(output_root="/elsewhere/takes").job_hash() == job.job_hash()
    assert job.replace(prompt="smoke").job_hash() != job.job_hash()


def test_frame_range_forms() -> None:
    assert FrameRange.parse("1001") == FrameRange(1001, 1001)
    assert FrameRange.parse("-5--1") == FrameRange(-5, -1)
    assert len(FrameRange.parse("1001-1100")) == 100
    job = GenerationJob.from_dict({**VALID, "frames": {"first": 1, "last": 3}})
    assert list(job.frames) == [1, 2, 3]


INVALID = [
    ("prompt", {"prompt": "  "}, "non-empty"),
    ("prompt", {"prompt": 5}, "a string"),
    ("model", {"model": ""}, "non-empty"),
    ("mode", {"mode": "t2i"}, "t2v"),
    ("frames", {"frames": "1009-1001"}, ">= the first"),
    ("frames", {"frames": "ten"}, "FIRST-LAST"),
    ("format", {"format": "64"}, "WIDTHxHEIGHT"),
    ("format", {"format": "4x4"}, "from 8"),
    ("seed", {"seed": -1}, "integer from 0"),
    ("seed", {"seed": 1.5}, "integer"),
    ("steps", {"steps": 0}, "from 1 to 1000"),
    ("guidance", {"guidance": -1}, "[0.0, 100.0]"),
    ("fps", {"fps": 0}, "(0.0"),
    ("compression", {"compression": "rle9"}, "zip, piz, dwaa, none"),
    ("pixel_type", {"pixel_type": "uint8"}, "half, float"),
    ("name", {"name": "../escape"}, "letters, digits"),
    ("name", {"name": "has space"}, "letters, digits"),
    ("device", {"device": "tpu"}, "cpu, cuda"),
    ("dtype", {"dtype": "int8"}, "float32"),
    ("cpu_offload", {"cpu_offload": "yes"}, "true or false"),
    ("plate", {"mode": "i2v"}, "plate image sequence"),
    ("mask", {"mode": "inpaint", "plate": "p.####.exr"}, "mask image sequence"),
    ("strength", {"strength": 0.5}, "v2v or inpaint"),
    ("strength", {"mode": "v2v", "plate": "p.####.exr", "strength": 2}, "[0.0, 1.0]"),
    ("colour_space", {"colour_space": "x"}, "job fields"),
    ("plate_space", {"plate_space": "ACEScg"}, "unless a plate"),
    ("region", {"region": "0,0,64,64"}, "unless a plate"),
    ("region", {"mode": "v2v", "plate": "p.####.exr", "region": "1,2,3"}, "X,Y,WIDTH,HEIGHT"),
    ("region", {"mode": "v2v", "plate": "p.####.exr", "region": [0, -1, 8, 8]}, "x, y >= 0"),
    ("schema", {"schema": 99}, "1"),
]


@pytest.mark.parametrize(
    ("field", "change", "allowed"), INVALID, ids=[f"{c[0]}-{i}" for i, c in enumerate(INVALID)]
)
def test_invalid_field_names_field_value_and_allowed(
    field: str, change: dict[str, object], allowed: str
) -> None:
    with pytest.raises(InvalidField) as raised:
        GenerationJob.from_dict({**VALID, **change})
    assert raised.value.field == field
    assert field in str(raised.value)
    assert allowed in str(raised.value)


def test_missing_required_field() -> None:
    data = dict(VALID)
    del data["frames"]
    with pytest.raises(InvalidField, match="frames"):
        GenerationJob.from_dict(data)


CLI_INVALID = [
    (["--frames", "1009-1001"], "frames"),
    (["--format", "sixty"], "format"),
    (["--seed", "-4"], "seed"),
    (["--steps", "0"], "steps"),
    (["--name", "a/b"], "name"),
    (["--model", "builtin:nope"], "model"),
    (["--model", "some-org/some-model"], "network access"),
    (["--model", "/nonexistent/model/folder"], "model"),
    (["--working-space", "Not A Space"], "working_space"),
    (["--ocio-config", "/nonexistent.ocio"], "ocio_config"),
    (["--device", "cuda:7"], "device"),
    (["--mode", "v2v", "--plate", "p.####.exr", "--plate-space", "Not A Space"], "plate_space"),
]


@pytest.mark.parametrize(
    ("flags", "named"), CLI_INVALID, ids=[c[1] + str(i) for i, c in enumerate(CLI_INVALID)]
)
def test_cli_rejects_invalid_input_with_exit_2_and_writes_nothing(
    flags: list[str], named: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    base = [
        "generate",
        "--model",
        "builtin:tiny-ltx",
        "--prompt",
        "dust",
        "--frames",
        "1-9",
        "--out",
        str(out),
        "--name",
        "n",
    ]
    code = main([*base, *flags])
    assert code == 2
    assert named in capsys.readouterr().err
    assert not out.exists()


def test_print_job_then_replay_with_job_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "generate",
        "--model",
        "builtin:tiny-wan",
        "--prompt",
        "smoke",
        "--frames",
        "1-5",
        "--out",
        str(tmp_path),
        "--print-job",
    ]
    assert main(args) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["prompt"] == "smoke"
    assert 0 <= printed["seed"] <= 2**31 - 1
    job_file = tmp_path / "job.json"
    job_file.write_text(json.dumps(printed))
    assert main(["generate", "--job", str(job_file), "--steps", "3", "--print-job"]) == 0
    replayed = json.loads(capsys.readouterr().out)
    assert replayed == {**printed, "steps": 3}
    assert not (tmp_path / "element").exists()


def test_bad_job_file_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    job_file = tmp_path / "job.json"
    job_file.write_text("{not json")
    assert main(["generate", "--job", str(job_file)]) == 2
    assert "job" in capsys.readouterr().err
    assert main(["generate", "--job", str(tmp_path / "missing.json")]) == 2
