"""Farm bundles as the README runs them, a take that accepts only its own job, path mapping."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import REPO, genvfx_command

from genvfx.cli.main import main
from genvfx.errors import InvalidField
from genvfx.job import GenerationJob
from genvfx.job.pathmap import PathMapping
from genvfx.media.exr import read_attributes, read_pixels, write_exr

BIN = Path(sys.executable).parent


def readme_farm_commands() -> list[str]:
    """The `genvfx farm` and `openjd run` lines of the README's farm section, verbatim."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## On a farm") :]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    lines = [
        line for line in block.group(1).splitlines() if line.startswith(("genvfx farm", "openjd"))
    ]
    assert len(lines) == 2, lines
    return lines


def shell(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*genvfx_command(), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=cwd,
    )


def write_plate(folder: Path, frames: range) -> None:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(5)
    for frame in frames:
        write_exr(folder / f"p.{frame:04d}.exr", rng.random((64, 64, 4)).astype(np.float32))


@pytest.fixture(scope="module")
def farm_take(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The README's farm commands, run verbatim on a v2v job whose plate path is relative."""
    base = tmp_path_factory.mktemp("farm")
    submit = base / "shots" / "sh010"
    write_plate(submit / "plates", range(1001, 1004))
    job = {
        "prompt": "thick smoke",
        "model": "builtin:tiny-ltx",
        "mode": "v2v",
        "plate": "plates/p.####.exr",
        "frames": "1001-1003",
        "steps": 2,
        "seed": 21,
        "output_root": "takes",
        "name": "smoke",
    }
    (submit / "shot.json").write_text(json.dumps(job))
    farm, openjd = readme_farm_commands()
    made = shell(farm, submit)
    assert made.returncode == 0, made.stderr
    # The bundle travels: run it from another folder, as the README says it.
    elsewhere = base / "elsewhere"
    elsewhere.mkdir()
    shutil.move(submit / "bundle", elsewhere / "bundle")
    ran = shell(openjd, elsewhere)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-2000:]
    return {"base": base, "submit": submit, "take": submit / "takes" / "smoke" / "v001"}


def test_readme_farm_commands_make_the_take_a_local_run_makes(
    farm_take: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    submit, take = farm_take["submit"], farm_take["take"]
    bundle = farm_take["base"] / "elsewhere" / "bundle"
    assert sorted(p.name for p in bundle.iterdir()) == [
        "asset_references.yaml",
        "parameter_values.yaml",
        "template.yaml",
    ]
    values = yaml.safe_load((bundle / "parameter_values.yaml").read_text())
    assert {"name": "TakeDir", "value": str(take)} in values["parameterValues"]
    assets = yaml.safe_load((bundle / "asset_references.yaml").read_text())
    assert assets["assetReferences"]["inputs"]["directories"] == [str(submit / "plates")]
    document = yaml.safe_load((bundle / "template.yaml").read_text())
    generate_step = document["steps"][0]
    amounts = {a["name"]: a["min"] for a in generate_step["hostRequirements"]["amounts"]}
    assert amounts["amount.worker.gpu"] == 1 and amounts["amount.worker.gpu.memory"] >= 2048
    assert "generate --job" in generate_step["script"]["embeddedFiles"][0]["data"]

    manifest = json.loads((take / "manifest.json").read_text())
    assert manifest["complete"] is True
    assert manifest["job"]["plate"] == str(submit / "plates" / "p.####.exr")
    assert all(len(f["sha256"]) == 64 and f["size"] > 0 for f in manifest["frames"])

    monkeypatch.chdir(submit)
    assert main(["generate", "--job", "shot.json"]) == 0
    replay = submit / "takes" / "smoke" / "v002"
    assert json.loads((replay / "manifest.json").read_text())["job_hash"] == manifest["job_hash"]
    for frame in (1001, 1002, 1003):
        farmed = read_pixels(take / f"smoke_v001.{frame}.exr")
        made_here = read_pixels(replay / f"smoke_v002.{frame}.exr")
        np.testing.assert_array_equal(farmed, made_here)


def test_a_take_accepts_frames_only_from_its_own_job(farm_take: dict[str, Path]) -> None:
    take = farm_take["take"]
    other = run_cli(
        "generate",
        "--job",
        str(take / "job.json"),
        "--seed",
        "22",
        "--frames",
        "1001-1003",
        "--take-dir",
        str(take),
    )
    assert other.returncode == 2
    assert "differs in seed (the take's 21, this job's 22)" in other.stderr
    assert "Traceback" not in other.stderr

    copy = farm_take["base"] / "copy" / "smoke" / "v001"
    shutil.copytree(take, copy)
    foreign = farm_take["base"] / "foreign.exr"
    write_exr(
        foreign,
        np.zeros((64, 64, 4), np.float32),
        attributes={"genvfx/job_hash": "0123456789abcdef", "genvfx/frame_index": 1},
    )
    shutil.copy(foreign, copy / "smoke_v001.1002.exr")
    swapped = run_cli("farm-complete", str(copy))
    assert swapped.returncode == 1 and "1002 from another job" in swapped.stderr
    manifest = json.loads((copy / "manifest.json").read_text())
    assert manifest["complete"] is False and manifest["status"] == "failed"

    (copy / "smoke_v001.1002.exr").unlink()
    shutil.copy(take / "smoke_v001.1002.exr", copy / "smoke_v001.1002.exr")
    data = (copy / "smoke_v001.1003.exr").read_bytes()
    (copy / "smoke_v001.1003.exr").write_bytes(data[: len(data) // 2])
    truncated = run_cli("farm-complete", str(copy))
    assert truncated.returncode == 1 and "1003 not a whole EXR" in truncated.stderr

    (copy / "smoke_v001.1003.exr").unlink()
    missing = run_cli("farm-complete", str(copy))
    assert missing.returncode == 1 and "1003 missing" in missing.stderr


def test_farm_complete_unmarks_a_take_whose_frame_was_deleted(farm_take: dict[str, Path]) -> None:
    copy = farm_take["base"] / "deleted" / "smoke" / "v001"
    shutil.copytree(farm_take["take"], copy)
    assert run_cli("farm-complete", str(copy)).returncode == 0
    (copy / "smoke_v001.1001.exr").unlink()
    assert run_cli("farm-complete", str(copy)).returncode == 1
    assert json.loads((copy / "manifest.json").read_text())["complete"] is False


def test_a_task_maps_the_submitting_machines_paths(
    farm_take: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """A worker that mounts the shot elsewhere: the take and the plate are found by the rules."""
    base = farm_take["base"]
    source = farm_take["submit"]
    mounted = base / "mnt" / "sh010"
    mounted.parent.mkdir()
    shutil.copytree(source / "plates", mounted / "plates")
    take = mounted / "takes" / "smoke" / "v001"
    shutil.copytree(farm_take["take"], take)
    for frame in (1002, 1003):
        (take / f"smoke_v001.{frame}.exr").unlink()
    shutil.rmtree(source / "plates")
    rules = base / "rules.json"
    rule = {
        "source_path_format": "POSIX",
        "source_path": str(source),
        "destination_path": str(mounted),
    }
    rules.write_text(json.dumps({"version": "pathmapping-1.0", "path_mapping_rules": [rule]}))
    as_submitted = source / "takes" / "smoke" / "v001"
    common = ["--path-mapping-rules", str(rules)]
    chunk = ["--frames", "1001-1003"]
    unmapped = main(["generate", "--job", str(take / "job.json"), *chunk, "--take-dir", str(take)])
    assert unmapped == 2 and "plate" in capsys.readouterr().err
    submitted = ["--job", str(as_submitted / "job.json"), "--take-dir", str(as_submitted)]
    assert main(["generate", *submitted, *chunk, *common]) == 0
    assert main(["farm-complete", str(as_submitted), *common]) == 0
    manifest = json.loads((take / "manifest.json").read_text())
    assert manifest["complete"] is True
    assert manifest["job"]["plate"] == str(source / "plates" / "p.####.exr")
    header = read_attributes(take / "smoke_v001.1003.exr")
    assert header["genvfx/job_hash"] == manifest["job_hash"]
    np.testing.assert_array_equal(
        read_pixels(take / "smoke_v001.1003.exr"),
        read_pixels(farm_take["take"] / "smoke_v001.1003.exr"),
    )


def test_path_mapping_rules_follow_the_open_job_description_convention(tmp_path: Path) -> None:
    rules = PathMapping.from_dict(
        {
            "version": "pathmapping-1.0",
            "path_mapping_rules": [
                {"source_path_format": "POSIX", "source_path": "/mnt", "destination_path": "/a"},
                {
                    "source_path_format": "POSIX",
                    "source_path": "/mnt/shows",
                    "destination_path": "/b",
                },
                {
                    "source_path_format": "WINDOWS",
                    "source_path": "Z:\\Shows",
                    "destination_path": "/c",
                },
            ],
        },
        "rules",
    )
    assert rules.map("/mnt/shows/sh010/p.####.exr") == "/b/sh010/p.####.exr"
    assert rules.map("/mnt/other/x.exr") == "/a/other/x.exr"
    assert rules.map("/mnt/showsfoo/x.exr") == "/a/showsfoo/x.exr"
    assert rules.map("z:\\shows\\sh010\\p.%04d.exr") == "/c/sh010/p.%04d.exr"
    assert rules.map("/elsewhere/x.exr") == "/elsewhere/x.exr"
    job = GenerationJob.from_dict(
        {
            "prompt": "x",
            "model": "m",
            "frames": "1-2",
            "output_root": "/mnt/shows/takes",
            "name": "n",
            "mode": "v2v",
            "plate": "/mnt/shows/p.####.exr",
        }
    )
    mapped = rules.apply(job)
    assert mapped.plate == "/b/p.####.exr" and mapped.output_root == "/b/takes"
    for bad in ({"version": "1"}, {"version": "pathmapping-1.0", "path_mapping_rules": [{}]}):
        with pytest.raises(InvalidField, match="path_mapping_rules"):
            PathMapping.from_dict(bad, "rules")


def _built_job(args: list[str]) -> dict[str, object]:
    """The job `genvfx generate ARGS` builds (paths resolved, nothing checked on disk)."""
    from genvfx.cli.generate import build_job
    from genvfx.cli.main import build_parser

    return build_job(build_parser().parse_args(["generate", *args])).to_dict()


def test_every_path_of_a_job_is_recorded_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "jobs"
    folder.mkdir()
    (folder / "j.json").write_text(
        json.dumps(
            {
                "prompt": "x",
                "model": "builtin:tiny-ltx",
                "frames": "1-2",
                "mode": "inpaint",
                "plate": "../plates/./p.####.exr",
                "mask": "roto/m.%04d.exr",
                "ocio_config": "config.ocio",
                "output_root": "out",
            }
        )
    )
    monkeypatch.chdir(tmp_path)
    job = _built_job(["--job", "jobs/j.json"])
    assert job["plate"] == str(tmp_path / "plates" / "p.####.exr")
    assert job["mask"] == str(folder / "roto" / "m.%04d.exr")
    assert job["ocio_config"] == str(folder / "config.ocio")
    assert job["output_root"] == str(folder / "out")
    flags = _built_job(
        [
            "--prompt",
            "x",
            "--model",
            "builtin:tiny-ltx",
            "--frames",
            "1-2",
            "--mode",
            "v2v",
            "--plate",
            "p/../q.####.exr",
            "--ocio-config",
            "ocio://default",
        ]
    )
    assert flags["plate"] == str(tmp_path / "q.####.exr")
    assert flags["ocio_config"] == "ocio://default"


def test_a_refused_farm_job_leaves_no_bundle_folder(tmp_path: Path) -> None:
    job = {"prompt": "x", "model": "no-such-model", "frames": "1-3", "output_root": "takes"}
    (tmp_path / "shot.json").write_text(json.dumps(job))
    refused = run_cli(
        "farm", "shot.json", "--chunk", "2", "--out", "deep/bundle/template.yaml", cwd=tmp_path
    )
    assert refused.returncode == 2 and "model" in refused.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shot.json"]


def test_the_gpu_request_follows_the_job(tmp_path: Path) -> None:
    from genvfx.farm.tasks import gpu_memory_mib

    (tmp_path / "unet").mkdir()
    (tmp_path / "unet" / "w.safetensors").write_bytes(b"\0" * (8 << 20))
    base = {"prompt": "x", "model": "m", "frames": "1-2", "output_root": "/t", "name": "n"}
    job = GenerationJob.from_dict(base)
    assert gpu_memory_mib(job, tmp_path) == 8 + 2048
    assert gpu_memory_mib(job.replace(dtype="float32"), tmp_path) == 16 + 2048
    assert gpu_memory_mib(job.replace(cpu_offload=True), tmp_path) == 2 + 2048
    assert gpu_memory_mib(job.replace(device="cpu"), tmp_path) is None


def test_script_colour_gives_the_farm_job_the_scripts_config_and_working_space(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import PyOpenColorIO as ocio

    config = tmp_path / "ocio" / "config.ocio"
    config.parent.mkdir()
    config.write_text(ocio.Config.CreateFromBuiltinConfig("ocio://default").serialize())
    job = {"prompt": "x", "model": "builtin:tiny-ltx", "frames": "1-4", "format": "64x48"}
    (tmp_path / "shot.json").write_text(json.dumps({**job, "output_root": "takes", "name": "el"}))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OCIO", raising=False)
    knobs = {
        "colorManagement": "OCIO",
        "OCIO_config": "custom",
        "customOCIOConfigPath": str(config),
        "workingSpaceLUT": "ACEScg",
    }
    farm = ["farm", "shot.json", "--chunk", "2", "--script-colour", json.dumps(knobs)]
    assert main([*farm, "--out", "a/template.yaml"]) == 0
    reserved = json.loads((tmp_path / "takes" / "el" / "v001" / "job.json").read_text())
    assert (reserved["ocio_config"], reserved["working_space"]) == (str(config), "ACEScg")
    assert main([*farm, "--out", "b/template.yaml", "--working-space", "Raw"]) == 0
    reserved = json.loads((tmp_path / "takes" / "el" / "v002" / "job.json").read_text())
    assert reserved["working_space"] == "Raw", "a flag wins over the script's knobs"
    assert main([*farm, "--out", "c/template.yaml", "--script-colour", '{"OCIO": 1}']) == 2
    assert not (tmp_path / "c").exists()
