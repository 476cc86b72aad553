# ruff: noqa: F811  (pytest fixtures imported from tests.fake_nuke.fixtures)
"""The node under studio conditions: launchers' Python, reopen and paste, groups, terminal
mode, TCL in knobs, proxy and stereo, Windows spellings, a broken plugin import."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import OpenImageIO as oiio
import pytest

from tests.fake_nuke import harness
from tests.fake_nuke.fixtures import fake_nuke, script  # noqa: F401 (fixtures)
from tests.test_nuke_plugin import RecordingClient, element, write_take

REPO = Path(__file__).resolve().parents[1]
NUKE_PATH = REPO / "nuke_plugin"


@pytest.fixture
def landing(monkeypatch: pytest.MonkeyPatch, fake_nuke: ModuleType) -> Iterator[RecordingClient]:
    """Each job ends at once with `done` for a take v001 the test wrote on disk beforehand."""
    import genvfx_nuke.node

    client = RecordingClient({"event": "done", "version": "v001", "frames": []})
    monkeypatch.setattr(genvfx_nuke.node, "shared_client", lambda: client)
    yield client
    harness.pump(lambda: not genvfx_nuke.node._active, timeout=10)


def bad_numpy(folder: Path) -> Path:
    """A studio-style PYTHONPATH entry holding a numpy that cannot be imported."""
    (folder / "numpy").mkdir(parents=True)
    (folder / "numpy" / "__init__.py").write_text("raise ImportError('studio numpy 1.16')\n")
    return folder


# ---- the worker's environment ------------------------------------------------------------


def test_the_worker_environment_drops_what_shadows_its_python() -> None:
    from genvfx_nuke.worker_client import worker_environment

    env = worker_environment(
        {
            "PYTHONPATH": "/studio/python",
            "PYTHONHOME": "/usr/local/Nuke15.1v5",
            "PYTHONUSERBASE": "/home/a/.local",
            "PYTHONSTARTUP": "/studio/startup.py",
            "OCIO": "/studio/config.ocio",
            "GENVFX_MODELS": "/models",
        }
    )
    assert not {"PYTHONPATH", "PYTHONHOME", "PYTHONUSERBASE", "PYTHONSTARTUP"} & set(env)
    assert env["PYTHONNOUSERSITE"] == "1"
    assert (env["OCIO"], env["GENVFX_MODELS"]) == ("/studio/config.ocio", "/models")


@pytest.mark.parametrize(
    "command, folder",
    [
        (
            'cd nuke_plugin && GENVFX_WORKER="../.venv/bin/genvfx worker" python3 -m genvfx_nuke.check',
            REPO,
        ),
        ("python3 -m genvfx_nuke.check", NUKE_PATH),
        ("PYTHONPATH={nuke_path}:$PYTHONPATH python3 -m genvfx_nuke.check", None),
    ],
)
def test_the_self_check_works_with_a_broken_numpy_on_pythonpath(
    tmp_path: Path, command: str, folder: Path | None
) -> None:
    """The documented commands, verbatim, with a launcher's numpy on PYTHONPATH."""
    if shutil.which("python3") is None:
        pytest.skip("no python3 on PATH")
    if "../.venv" in command and not (REPO / ".venv" / "bin" / "genvfx").is_file():
        pytest.skip("the README's command needs the repository's .venv (./install.sh)")
    env = {
        **os.environ,
        "PYTHONPATH": str(bad_numpy(tmp_path / "studio")),
        "GENVFX_WORKER": f"{sys.executable} -m genvfx worker",
        "GENVFX_LOG_DIR": str(tmp_path / "logs"),
    }
    result = subprocess.run(
        command.replace("{nuke_path}", str(NUKE_PATH)),
        shell=True,
        cwd=folder or tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    import genvfx

    assert f"genvfx          {genvfx.__version__}" in result.stdout
    assert "protocol        1 (this plugin speaks 1)" in result.stdout
    assert "device          cpu (float32)" in result.stdout
    assert "ocio config" in result.stdout and "builtin:tiny-ltx" in result.stdout


def test_the_self_check_names_the_cause_when_the_worker_cannot_start(tmp_path: Path) -> None:
    env = {**os.environ, "GENVFX_WORKER": "/no/such/genvfx worker"}
    env["GENVFX_LOG_DIR"] = str(tmp_path / "logs")
    result = subprocess.run(
        [sys.executable, "-m", "genvfx_nuke.check"],
        cwd=NUKE_PATH,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "FAILED: cannot start the genvfx worker `/no/such/genvfx worker`" in result.stderr


# ---- Windows -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "setting, command",
    [
        (
            r"C:\venvs\genvfx\Scripts\genvfx.exe worker",
            [r"C:\venvs\genvfx\Scripts\genvfx.exe", "worker"],
        ),
        (
            r'"C:\Program Files\genvfx\Scripts\genvfx.exe" worker',
            [r"C:\Program Files\genvfx\Scripts\genvfx.exe", "worker"],
        ),
        (
            r"C:\venvs\genvfx\Scripts\python.exe -m genvfx worker",
            [r"C:\venvs\genvfx\Scripts\python.exe", "-m", "genvfx", "worker"],
        ),
        (r"\\farm\tools\genvfx.exe  worker", [r"\\farm\tools\genvfx.exe", "worker"]),
    ],
)
def test_windows_worker_commands_keep_their_backslashes(setting: str, command: list[str]) -> None:
    from genvfx_nuke.worker_client import worker_command

    assert worker_command(setting, windows=True) == command


def test_an_unclosed_quote_on_windows_is_refused() -> None:
    from genvfx_nuke.worker_client import WorkerError, worker_command

    with pytest.raises(WorkerError, match="never closed"):
        worker_command(r'"C:\Program Files\genvfx.exe worker', windows=True)


def test_the_worker_has_no_console_window_on_windows() -> None:
    from genvfx_nuke.worker_client import CREATE_NO_WINDOW, popen_options

    assert CREATE_NO_WINDOW == 0x08000000
    assert popen_options(windows=True) == {"creationflags": CREATE_NO_WINDOW}
    assert popen_options(windows=False) == {"start_new_session": True}


@pytest.mark.parametrize(
    "path, stored",
    [
        (
            r"C:\shots\sh010\genvfx\Dust\v001\Dust_v001.####.exr",
            "C:/shots/sh010/genvfx/Dust/v001/Dust_v001.####.exr",
        ),
        (r"\\server\shots\a.####.exr", "//server/shots/a.####.exr"),
        ("/shots/sh010/a.####.exr", "/shots/sh010/a.####.exr"),
    ],
)
def test_paths_reach_file_knobs_with_forward_slashes(
    fake_nuke: ModuleType, path: str, stored: str
) -> None:
    from genvfx_nuke.settings import knob_path

    write = fake_nuke.createNode("Write")
    write["file"].setValue(path)
    if "\\" in path:
        assert write["file"].evaluate() != path, "TCL takes backslashes as escapes, as in Nuke"
    write["file"].setValue(knob_path(path, evaluated=True))
    assert write["file"].evaluate() == stored
    assert knob_path(path) == stored


def test_tcl_in_a_folder_name_is_never_evaluated(fake_nuke: ModuleType) -> None:
    from genvfx_nuke.settings import knob_path

    write = fake_nuke.createNode("Write")
    path = "/shots/[value root.name]/$HOME/a.####.exr"
    write["file"].setValue(knob_path(path, evaluated=True))
    assert write["file"].evaluate() == path


@pytest.mark.parametrize(
    "platform, command",
    [
        ("win32", ["explorer", os.path.normpath("/shots/t")]),
        ("darwin", ["open", "/shots/t"]),
        ("linux", ["xdg-open", "/shots/t"]),
    ],
)
def test_open_folder_uses_the_platform_browser(
    fake_nuke: ModuleType, platform: str, command: list[str]
) -> None:
    from genvfx_nuke.node import open_command

    assert open_command("/shots/t", platform) == command


# ---- reopen, paste, groups ----------------------------------------------------------------


def test_save_reopen_and_paste_keep_a_take_that_is_not_the_newest(
    fake_nuke: ModuleType, script: Path
) -> None:
    root = script.parent / "genvfx"
    for version in (1, 2):
        write_take(root, "GenerateElement1", version, version, f"take {version}", complete=True)
    node = element(fake_nuke)
    harness.user_set(node, "take", node["take"].values()[1])
    reopened = harness.reopen(node)
    assert harness.load_errors() == []
    saved = script.read_text().splitlines()
    assert not [line for line in saved if line.startswith(" take ")], "the pulldown is unsaved"
    assert reopened["take"].value() == "v001  seed 1  take 1"
    assert "v001" in harness.evaluate(reopened.node("take_read"), "file")
    pasted = harness.paste(reopened, str(script.parent / "clipboard.nk"))
    assert harness.load_errors() == []
    assert pasted is not reopened and pasted.name() == "GenerateElement2"
    assert pasted["take"].value() == "v001  seed 1  take 1"
    assert "v001" in harness.evaluate(pasted.node("take_read"), "file")


def test_a_saved_status_is_not_shown_after_a_reopen(fake_nuke: ModuleType, script: Path) -> None:
    node = element(fake_nuke)
    node["status"].setValue("step 3/20")
    node["tile_color"].setValue(0x3F7FBFFF)
    reopened = harness.reopen(node)
    assert reopened["status"].value() == "idle"
    assert reopened["tile_color"].value() == 0x7F4FBFFF


def test_a_job_lands_on_its_own_node_while_the_artist_is_in_a_group(
    fake_nuke: ModuleType, script: Path, landing: RecordingClient
) -> None:
    outside = element(fake_nuke)
    group = fake_nuke.createNode("Group")
    with group:
        inside = element(fake_nuke)
    elsewhere = fake_nuke.createNode("Group")
    with elsewhere:
        decoy = element(fake_nuke)
    assert inside.name() == outside.name() == decoy.name() == "GenerateElement1"
    write_take(script.parent / "genvfx", "Group1_GenerateElement1", 1, 7, "dust", complete=True)
    with group:
        inside["generate"].execute()
    assert landing.jobs[0]["name"] == "Group1_GenerateElement1"
    harness.enter(elsewhere)
    harness.pump(lambda: not inside["status"].value().startswith("queued"), timeout=10)
    assert inside["status"].value() == "idle: v001 complete, 0 frames"
    assert inside["has_take"].value() is True
    for other in (outside, decoy):
        assert other["status"].value() == "idle" and other["has_take"].value() is False


def test_a_rename_keeps_the_takes(
    fake_nuke: ModuleType, script: Path, landing: RecordingClient
) -> None:
    node = element(fake_nuke)
    write_take(script.parent / "genvfx", "GenerateElement1", 1, 7, "dust", complete=True)
    node["generate"].execute()
    harness.pump(lambda: node["has_take"].value(), timeout=10)
    node.setName("Dust")
    node["generate"].execute()
    assert landing.jobs[1]["name"] == "GenerateElement1"
    assert harness.reopen(node)["take"].values() == ["v001  seed 7  dust"]


def test_a_job_never_lands_in_another_script(
    fake_nuke: ModuleType, script: Path, landing: RecordingClient
) -> None:
    node = element(fake_nuke)
    write_take(script.parent / "genvfx", "GenerateElement1", 1, 7, "dust", complete=True)
    node["generate"].execute()
    other = script.parent / "other.nk"
    fake_nuke.scriptClose()
    harness.set_script(str(other))
    stranger = element(fake_nuke)
    harness.pump(lambda: not harness.nuke._STATE["main_queue"], timeout=10)
    assert stranger["has_take"].value() is False and stranger["status"].value() == "idle"


# ---- terminal mode -----------------------------------------------------------------------


def test_in_terminal_mode_generate_blocks_until_the_take_lands(
    fake_nuke: ModuleType, script: Path, landing: RecordingClient
) -> None:
    write_take(script.parent / "genvfx", "GenerateElement1", 1, 7, "dust", complete=True)
    node = element(fake_nuke)
    with harness.terminal():
        node["generate"].execute()
        assert node["status"].value() == "idle: v001 complete, 0 frames"
        assert node["has_take"].value() is True
    assert harness.never_run() == []


# ---- TCL in knobs, colour, proxy, stereo, inputs -----------------------------------------


def test_output_root_and_the_ocio_config_path_are_evaluated(
    fake_nuke: ModuleType, script: Path, landing: RecordingClient
) -> None:
    root = fake_nuke.root()
    root["colorManagement"].setValue("OCIO")
    root["OCIO_config"].setValue("custom")
    root["customOCIOConfigPath"].setValue("[file dirname [value root.name]]/ocio/config.ocio")
    node = element(fake_nuke)
    node["output_root"].setValue("[file dirname [value root.name]]/takes")
    node["generate"].execute()
    assert landing.jobs[0]["output_root"] == str(script.parent / "takes")
    colour = landing.colours[0]
    assert colour is not None
    assert colour["customOCIOConfigPath"] == str(script.parent / "ocio" / "config.ocio")


def test_inputs_render_full_size_in_one_view_even_in_proxy_mode(
    fake_nuke: ModuleType, script: Path, landing: RecordingClient
) -> None:
    root = fake_nuke.root()
    root["proxy"].setValue(True)
    root._views = ["left", "right"]
    node = element(fake_nuke)
    node["mode"].setValue("v2v")
    node["frames"].setValue("1001-1002")
    node["generate"].execute()
    ((_, pattern, _, _, _, views, proxy),) = harness.executed()
    assert (views, proxy) == (("left",), False)
    assert root["proxy"].value() is True, "the artist's proxy setting is put back"
    frame = pattern.replace("####", "1001")
    spec = oiio.ImageInput.open(frame).spec()
    assert (spec.width, spec.height) == (64, 48)
    folder = Path(pattern).parent
    harness.pump(lambda: not folder.exists(), timeout=10)


def test_a_failed_job_turns_the_tile_red(
    fake_nuke: ModuleType, script: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import genvfx_nuke.node

    client = RecordingClient({"event": "error", "message": "out of memory"})
    monkeypatch.setattr(genvfx_nuke.node, "shared_client", lambda: client)
    node = element(fake_nuke)
    node["generate"].execute()
    assert node["tile_color"].value() == genvfx_nuke.node.TILE_COLOURS["running"]
    harness.pump(lambda: not genvfx_nuke.node._active, timeout=10)
    assert node["tile_color"].value() == genvfx_nuke.node.TILE_COLOURS["failed"]
    assert node["label"].value() == "failed"


@pytest.mark.parametrize("condition, frame", [("", 1001), ("1005", 1005)])
def test_i2v_renders_only_the_frame_it_starts_from(
    fake_nuke: ModuleType, script: Path, landing: RecordingClient, condition: str, frame: int
) -> None:
    node = element(fake_nuke)
    node["mode"].setValue("i2v")
    node["condition_frame"].setValue(condition)
    node["generate"].execute()
    ((_, pattern, first, last, _, _, _),) = harness.executed()
    assert (first, last) == (frame, frame)
    assert sorted(p.name for p in Path(pattern).parent.iterdir()) == [f"plate.{frame}.exr"]


def test_a_render_that_fails_leaves_no_inputs_behind(
    fake_nuke: ModuleType, script: Path, landing: RecordingClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("Write failed: disk full")

    monkeypatch.setattr(fake_nuke, "execute", broken)
    node = element(fake_nuke)
    node["mode"].setValue("v2v")
    node["generate"].execute()
    assert "disk full" in harness.messages()[0] and landing.jobs == []
    inputs = script.parent / "genvfx" / "GenerateElement1" / "_inputs"
    assert list(inputs.iterdir()) == []


# ---- start-up ----------------------------------------------------------------------------


def test_the_gizmo_is_found_when_the_plugin_cannot_be_imported(tmp_path: Path) -> None:
    install = tmp_path / "genvfx"
    shutil.copytree(NUKE_PATH, install / "nuke_plugin")
    shutil.copytree(REPO / "gizmos", install / "gizmos")
    (install / "nuke_plugin" / "genvfx_nuke" / "__init__.py").write_text(
        "raise ImportError('broken plugin')\n"
    )
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "nuke.py").write_text(
        f"def pluginPath():\n    return [{str(install / 'nuke_plugin')!r}]\n"
        "def pluginAddPath(path, addToSysPath=True):\n    print('added', path)\n"
    )
    code = f"import sys; sys.path[:0] = [{str(fake)!r}, {str(install / 'nuke_plugin')!r}]\n"
    code += (install / "nuke_plugin" / "init.py").read_text()
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"added {install / 'gizmos'}"


def test_the_worker_answers_info_for_the_self_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from genvfx_nuke.worker_client import WorkerClient

    monkeypatch.setenv("GENVFX_LOG_DIR", str(tmp_path / "logs"))
    client = WorkerClient([sys.executable, "-m", "genvfx", "worker"])
    client.start()
    try:
        info = client.info()
    finally:
        client.shutdown()
    assert info["protocol"] == 1 and info["device"] == "cpu" and info["dtype"] == "float32"
    assert "builtin:tiny-ltx" in info["models"]
    assert json.dumps(info)


def test_window_overlap_region_condition_frame_and_memory_levers_reach_the_job(
    fake_nuke: ModuleType, script: Path, landing: RecordingClient
) -> None:
    node = element(fake_nuke)
    node["mode"].setValue("i2v")
    write_take(script.parent / "genvfx", "GenerateElement1", 1, 7, "dust", complete=True)
    for knob, value in (
        ("window", "9"),
        ("overlap", "0"),
        ("condition_frame", "1003"),
        ("region", "8, 4, 32,24"),
        ("vae_tiling", True),
    ):
        node[knob].setValue(value)
    node["generate"].execute()
    job = landing.jobs[0]
    assert (job["window"], job["overlap"], job["condition_frame"]) == (9, 0, 1003)
    assert job["region"] == "8,4,32,24" and job["vae_tiling"] is True
    assert "cpu_offload" not in job
    harness.pump(lambda: node["has_take"].value(), timeout=10)
    node["mode"].setValue("t2v")
    node["generate"].execute()
    assert not {"condition_frame", "region"} & set(landing.jobs[1]), "only where the mode uses them"


@pytest.mark.parametrize(
    "knob, value, words",
    [
        ("window", "nine", "window: 'nine' is not a number"),
        ("overlap", "-1", "overlap: '-1' is not a whole number from 0"),
        ("region", "8,4,32", "region: '8,4,32' is not X,Y,WIDTH,HEIGHT"),
    ],
)
def test_a_typo_in_an_advanced_knob_is_refused_naming_it(
    fake_nuke: ModuleType, script: Path, landing: RecordingClient, knob: str, value: str, words: str
) -> None:
    node = element(fake_nuke)
    node["mode"].setValue("v2v")
    node[knob].setValue(value)
    node["generate"].execute()
    assert landing.jobs == [] and harness.executed() == []
    (message,) = harness.messages()
    assert words in message


def test_a_stock_nuke_config_is_sent_as_its_file_and_the_worker_uses_it(
    fake_nuke: ModuleType,
    script: Path,
    landing: RecordingClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import PyOpenColorIO as ocio

    from genvfx.worker.server import request_job

    install = tmp_path / "Nuke15.1v5"
    stock = install / "plugins" / "OCIOConfigs" / "configs" / "aces_1.2" / "config.ocio"
    stock.parent.mkdir(parents=True)
    config = ocio.Config.CreateFromBuiltinConfig("cg-config-v2.1.0_aces-v1.3_ocio-v2.3")
    stock.write_text(config.serialize())
    monkeypatch.setattr(fake_nuke, "EXE_PATH", str(install / "Nuke15.1"))
    root = fake_nuke.root()
    root["colorManagement"].setValue("OCIO")
    root["OCIO_config"].setValues(["nuke-default", "aces_1.2", "custom"])
    root["OCIO_config"].setValue("aces_1.2")
    root["workingSpaceLUT"].setValue("ACEScg")
    element(fake_nuke)["generate"].execute()
    colour = landing.colours[0]
    assert colour is not None
    assert (colour["OCIO_config"], colour["customOCIOConfigPath"]) == ("custom", str(stock))
    job = request_job({"job": landing.jobs[0], "script_colour": colour})
    assert (job.ocio_config, job.working_space) == (str(stock), "ACEScg")


@pytest.mark.parametrize("name", ["", "../../etc", "aces_1.2/../x", "missing"])
def test_only_a_stock_config_folder_that_exists_is_used(
    tmp_path: Path, fake_nuke: ModuleType, name: str
) -> None:
    from genvfx_nuke.node import stock_config_file

    assert stock_config_file(str(tmp_path / "Nuke15.1"), name) is None


# ---- compositor tools --------------------------------------------------------------------


def test_bake_to_read_makes_a_read_and_merge_beside_the_node(
    fake_nuke: ModuleType, script: Path
) -> None:
    write_take(script.parent / "genvfx", "Group1_GenerateElement1", 1, 3, "one", complete=True)
    write_take(script.parent / "genvfx", "Group1_GenerateElement1", 2, 4, "two", complete=True)
    group = fake_nuke.createNode("Group")
    with group:
        node = element(fake_nuke)
    harness.user_set(node, "take", node["take"].values()[1])
    inside = len(node.nodes())
    with group:
        node["bake"].execute()
    reads = [n for n in group.nodes() if n.Class() == "Read" and n is not node.input(0)]
    (merge,) = [n for n in group.nodes() if n.Class() == "Merge2"]
    (read,) = reads
    folder = script.parent / "genvfx" / "Group1_GenerateElement1" / "v001"
    assert read["file"].evaluate() == str(folder / "Group1_GenerateElement1_v001.####.exr")
    assert (read["first"].value(), read["last"].value()) == (1001, 1009)
    assert (read["origfirst"].value(), read["origlast"].value()) == (1001, 1009)
    assert read["origset"].value() is True and read["raw"].value() is True
    assert read["label"].value() == "genvfx Group1_GenerateElement1 v001"
    assert merge.input(0) is node.input(0) and merge.input(1) is read
    assert len(node.nodes()) == inside, "nothing is made inside the gizmo"


def test_bake_without_a_take_says_so(fake_nuke: ModuleType, script: Path) -> None:
    node = element(fake_nuke)
    node["bake"].execute()
    assert "no take to bake yet" in harness.messages()[0]
    assert [n.Class() for n in fake_nuke.root().nodes()] == ["GenerateElement", "Read"]


def test_the_model_pulldown_lists_the_workers_models(
    fake_nuke: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    import genvfx_nuke.node

    class Worker:
        def info(self) -> dict[str, object]:
            return {"models": ["builtin:tiny-ltx", "dust (ltx) /models/dust"]}

    monkeypatch.setattr(genvfx_nuke.node, "shared_client", Worker)
    node = element(fake_nuke, plate=False)
    node["list_models"].execute()
    assert node["model_list"].values() == ["builtin:tiny-ltx", "dust"]
    harness.user_set(node, "model_list", "dust")
    assert node["model"].value() == "dust"


# ---- the take in the comp ----------------------------------------------------------------


def sized_take(root: Path, name: str, version: int, width: int, height: int) -> Path:
    """A complete take whose record says its frames are `width` x `height`."""
    folder = write_take(root, name, version, 7, "dust", complete=True)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["generated"] = {"resized_to": {"width": width, "height": height}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_the_take_read_has_the_takes_format_and_keeps_it_on_reopen(
    fake_nuke: ModuleType, script: Path, landing: RecordingClient
) -> None:
    sized_take(script.parent / "genvfx", "GenerateElement1", 1, 2048, 858)
    node = element(fake_nuke)
    node["generate"].execute()
    harness.pump(lambda: node["has_take"].value(), timeout=10)
    read = node.node("take_read")
    assert (read.format().width(), read.format().height()) == (2048, 858)
    reopened = harness.reopen(node).node("take_read")
    assert (reopened.format().width(), reopened.format().height()) == (2048, 858)


class StreamingClient(RecordingClient):
    """A worker whose events the test sends one by one (`handle.events.put`)."""

    def __init__(self) -> None:
        super().__init__()
        self.handles: list[Any] = []

    def submit(self, job: dict[str, Any], script_colour: dict[str, str] | None = None) -> Any:
        from genvfx_nuke.worker_client import JobHandle

        self.jobs.append(job)
        self.handles.append(JobHandle(f"job{len(self.jobs)}", self))  # type: ignore[arg-type]
        return self.handles[-1]


def test_frames_show_as_they_are_written_and_the_old_take_returns_on_cancel(
    fake_nuke: ModuleType, script: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import genvfx_nuke.node

    client = StreamingClient()
    monkeypatch.setattr(genvfx_nuke.node, "shared_client", lambda: client)
    root = script.parent / "genvfx"
    sized_take(root, "GenerateElement1", 1, 64, 48)
    node = element(fake_nuke)
    harness.user_set(node, "take", node["take"].values()[0])
    running = write_take(root, "GenerateElement1", 2, 8, "smoke", complete=False)
    manifest = json.loads((running / "manifest.json").read_text())
    manifest["generated"] = {"resized_to": {"width": 96, "height": 72}}
    (running / "manifest.json").write_text(json.dumps(manifest))
    node["generate"].execute()
    handle = client.handles[0]

    def frame(number: int) -> None:
        path = running / f"GenerateElement1_v002.{number}.exr"
        handle.events.put({"id": handle.id, "event": "frame", "frame": number, "path": str(path)})

    frame(1001)
    harness.pump(lambda: node["take_version"].value() == "v002", timeout=10)
    assert "v002" in harness.evaluate(node.node("take_read"), "file")
    assert (node["take_first"].value(), node["take_last"].value()) == (1001, 1001)
    assert node.node("take_read").format().width() == 96
    for number in (1002, 1003, 1004):
        frame(number)
    harness.pump(lambda: node["take_last"].value() == 1004, timeout=10)
    assert node["take"].values() == ["v001  seed 7  dust"], "a running take is not listed"
    handle.events.put({"id": handle.id, "event": "cancelled", "message": "test"})
    harness.pump(lambda: not genvfx_nuke.node._active, timeout=10)
    assert node["take_version"].value() == "v001"
    assert (node["take_first"].value(), node["take_last"].value()) == (1001, 1009)
    assert node.node("take_read").format().width() == 64


# ---- draft -------------------------------------------------------------------------------


def test_draft_shrinks_the_models_size_and_keeps_the_format(
    fake_nuke: ModuleType, script: Path, landing: RecordingClient
) -> None:
    node = element(fake_nuke)
    node["generate"].execute()
    harness.pump(lambda: not node["status"].value().startswith("queued"), timeout=10)
    node["draft"].setValue(True)
    node["generate"].execute()
    full, draft = landing.jobs
    assert "model_size" not in full
    assert draft["model_size"] == {"width": 32, "height": 24}
    assert draft["format"] == full["format"] == {"width": 64, "height": 48}


@pytest.mark.parametrize("width, height", [(64, 48), (1920, 1080), (4096, 1716), (16, 16)])
def test_a_draft_is_at_most_half_each_side_and_keeps_the_aspect(width: int, height: int) -> None:
    from genvfx_nuke.settings import DRAFT_MAX_PIXELS, draft_size

    size = draft_size(width, height)
    assert 8 <= size["width"] <= width / 2 or size["width"] == 8
    assert size["height"] <= max(8, height / 2)
    assert size["width"] * size["height"] <= DRAFT_MAX_PIXELS
    assert abs(size["width"] / size["height"] - width / height) < 0.05 * width / height


# ---- submit to farm ----------------------------------------------------------------------


def test_submit_to_farm_writes_a_bundle_with_the_scripts_colour(
    fake_nuke: ModuleType, script: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import PyOpenColorIO as ocio

    import genvfx_nuke.node

    shown: list[str] = []
    monkeypatch.setattr(genvfx_nuke.node, "show_folder", shown.append)
    monkeypatch.delenv("OCIO", raising=False)
    root = fake_nuke.root()
    root["colorManagement"].setValue("OCIO")
    root["OCIO_config"].setValue("custom")
    root["customOCIOConfigPath"].setValue("[file dirname [value root.name]]/ocio/config.ocio")
    root["workingSpaceLUT"].setValue("ACEScg")
    (script.parent / "ocio").mkdir()
    config = ocio.Config.CreateFromBuiltinConfig("ocio://default").serialize()
    (script.parent / "ocio" / "config.ocio").write_text(config)
    node = element(fake_nuke, plate=False)
    node["frames"].setValue("1001-1004")
    assert node["chunk"].value() == 24
    node["chunk"].setValue(2)
    node["submit_farm"].execute()
    assert node["status"].value().startswith("farm bundle written"), harness.messages()
    (bundle,) = shown
    assert sorted(os.listdir(bundle)) == [
        "asset_references.yaml",
        "parameter_values.yaml",
        "template.yaml",
    ]
    sent = json.loads((Path(bundle).parent / "job.json").read_text())
    assert sent["name"] == "GenerateElement1" and "ocio_config" not in sent
    take = script.parent / "genvfx" / "GenerateElement1" / "v001"
    reserved = json.loads((take / "job.json").read_text())
    assert reserved["ocio_config"] == str(script.parent / "ocio" / "config.ocio")
    assert reserved["working_space"] == "ACEScg"
    assert json.loads((take / "manifest.json").read_text())["status"] == "queued"
    assert node["take"].values() == [], "a queued farm take is not listed"


def test_the_farm_command_is_the_worker_command_with_farm_for_worker(
    fake_nuke: ModuleType,
) -> None:
    from genvfx_nuke.farm_submit import farm_command
    from genvfx_nuke.worker_client import WorkerError

    exe = r"C:\venvs\genvfx\Scripts\genvfx.exe"
    command = farm_command([exe, "worker"], "job.json", 8, "b/template.yaml", {"a": "b"})
    assert command == [
        exe,
        "farm",
        "job.json",
        "--chunk",
        "8",
        "--out",
        "b/template.yaml",
        "--script-colour",
        '{"a": "b"}',
    ]
    with pytest.raises(WorkerError, match="does not end with `worker`"):
        farm_command(["/opt/run-genvfx"], "job.json", 8, "b/template.yaml", {})
