"""The GenerateElement node: its buttons and callbacks, and landing takes in the graph.

Threads: buttons and callbacks run on Nuke's main thread, which also renders the inputs
(`nuke.execute`). A background thread per job follows the worker's events with a
`nuke.ProgressTask`; every change to knobs or nodes it asks for goes through
`nuke.executeInMainThread`.

The internal Read is linked by expressions in the gizmo to the hidden knobs `take_file`,
`take_first`, `take_last` and `has_take`, which are saved with the script: setting those
knobs is landing a take, and reopening the script shows the same take without Python. The
`take` pulldown is never saved (`UNSAVED_PULLDOWNS`, flagged when the node is created);
`take_version` remembers the choice.

A job is tied to its node by the node's full name from the root and the script it was
started in, so it lands on its own node whichever group the artist is in, and never in
another script. Takes are filed under the node's `element` knob (set on the first
Generate from the full name), so a rename keeps them and same-named nodes in different
groups do not share them. In terminal mode (`nuke -t`, a farm render) nothing runs
queued main-thread calls, so Generate blocks until the take lands.
"""

import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from typing import Any, Dict, List, NamedTuple, Optional

import nuke

from genvfx_nuke import settings, takes
from genvfx_nuke.logs import log_file, logger
from genvfx_nuke.worker_client import JobHandle, WorkerError, shared_client

PLATE_WRITE = "plate_write"
MASK_WRITE = "mask_write"
INPUTS_FOLDER = "_inputs"
VALUE_KNOBS = (
    "prompt",
    "negative_prompt",
    "model",
    "mode",
    "frames",
    "seed",
    "steps",
    "guidance",
    "strength",
    "matte",
    "output_root",
    "region",
    "condition_frame",
    "window",
    "overlap",
    "cpu_offload",
    "vae_tiling",
)
POLL_SECONDS = 0.1
UNSAVED_PULLDOWNS = ("take", "model_list")
"""Pulldowns filled at run time: never saved, since Nuke would refuse on reading a saved
item that the gizmo's empty list lacks ("Bad value for take")."""
TILE_COLOURS = {"idle": 0x7F4FBFFF, "running": 0x3F7FBFFF, "failed": 0xBF3F3FFF}


SHOWN_KNOBS = ("take_file", "take_first", "take_last", "take_version", "has_take")
"""The hidden knobs that say which take the internal Read shows."""


class Running(NamedTuple):
    """A job on its way: the node it lands on (full name, script), its rendered inputs, and
    the take the node showed before (shown again if the job does not complete)."""

    handle: JobHandle
    script: str
    inputs: Optional[str]
    shown: Dict[str, Any]


_active: Dict[str, Running] = {}
_active_lock = threading.Lock()


def is_running(node_name: str) -> bool:
    with _active_lock:
        return node_name in _active


def element_name(node: Any) -> str:
    """The folder name of this node's takes: the `element` knob; else the folder of the take
    it shows (a copy pasted before its first Generate); else its full name."""
    text = str(node["element"].value()).strip()
    if not text and node["has_take"].value():
        text = os.path.basename(os.path.dirname(os.path.dirname(str(node["take_file"].value()))))
    return text or node.fullName().replace(".", "_")


# ---- buttons and callbacks (main thread) -------------------------------------------------


def on_generate(node: Any) -> None:
    """The Generate button: validate, render inputs, send the job, follow it."""
    name = node.fullName()
    if is_running(name):
        nuke.message("{} is already generating; cancel it first.".format(name))
        return
    inputs = None
    try:
        job = settings.build_job(_knob_values(node), _context(node))
        client = shared_client()
        inputs = _render_inputs(node, job)
        handle = client.submit(job, script_colour=_colour_knobs(nuke.root()))
    except settings.SettingsError as exc:
        _refuse(node, "not started", exc)
        return
    except WorkerError as exc:
        _remove_inputs(inputs)
        _report(node, str(exc))
        return
    except Exception as exc:
        _remove_inputs(inputs)
        _report(node, "could not start: {}: {}".format(type(exc).__name__, exc))
        return
    if not str(node["element"].value()).strip():
        node["element"].setValue(job["name"])
    with _active_lock:
        _active[name] = Running(
            handle, _script_path(), inputs, {knob: node[knob].value() for knob in SHOWN_KNOBS}
        )
    _set_status(node, "queued")
    _show_state(node, "running", "generating")
    if not nuke.GUI:
        follow(handle, name)
        return
    follower = threading.Thread(
        target=follow, args=(handle, name), name="genvfx-follow-" + name, daemon=True
    )
    follower.start()


def _refuse(node: Any, what: str, exc: settings.SettingsError) -> None:
    """A knob holds a bad value: say so on the node and in one message; nothing was done."""
    _set_status(node, "{}: {}".format(what, exc))
    nuke.message("{}: {}".format(node.fullName(), exc))


def _knob_values(node: Any) -> Dict[str, Any]:
    """The job knobs' values; `output_root` with its TCL evaluated, as Nuke's file knobs are."""
    values = {knob: node[knob].value() for knob in VALUE_KNOBS}
    values["output_root"] = str(node["output_root"].evaluate())
    values["draft"] = bool(node["draft"].value())
    return values


def on_submit_farm(node: Any) -> None:
    """The "submit to farm" button: the job Generate would send, as a farm job bundle
    (`genvfx farm`, `chunk` frames per task), then its folder in the file browser.

    The plate and mask are rendered as for Generate and kept: the farm reads them.
    """
    from genvfx_nuke.farm_submit import write_bundle

    inputs = None
    try:
        job = settings.build_job(_knob_values(node), _context(node))
        chunk = int(node["chunk"].value())
        if chunk < 1:
            raise settings.SettingsError("chunk", "frames per farm task must be 1 or more")
        inputs = _render_inputs(node, job)
        bundle = write_bundle(job, chunk, _colour_knobs(nuke.root()))
    except settings.SettingsError as exc:
        _refuse(node, "not submitted", exc)
        return
    except Exception as exc:
        _remove_inputs(inputs)
        _report(node, "farm bundle not written: {}".format(exc))
        return
    if not str(node["element"].value()).strip():
        node["element"].setValue(job["name"])
    _set_status(node, "farm bundle written: {}".format(bundle.folder))
    if nuke.GUI:
        show_folder(bundle.folder)


def on_cancel(node: Any) -> None:
    """The Cancel button: ask the worker to stop this node's job after the current step."""
    name = node.fullName()
    with _active_lock:
        running = _active.get(name)
    if running is None:
        _set_status(node, "idle: nothing to cancel")
        return
    _set_status(node, "cancelling...")
    running.handle.cancel()


def on_randomise_seed(node: Any) -> None:
    node["seed"].setValue(random.randint(0, settings.MAX_SEED))


def on_create(node: Any) -> None:
    """Node created, pasted or script opened: list the takes on disk, keep the saved choice,
    and show a status that is true now (a saved "step 3/20" is not)."""
    for knob in UNSAVED_PULLDOWNS:
        node[knob].setFlag(nuke.DO_NOT_WRITE)
    if not is_running(node.fullName()):
        _set_status(node, "idle")
        _show_state(node, "idle", str(node["take_version"].value()))
    try:
        refresh_takes(node)
    except Exception:
        logger().exception("%s: refreshing takes failed", node.fullName())


def on_open_folder(node: Any) -> None:
    """Open the shown take's folder (else the element's) in the system's file browser."""
    folder = os.path.dirname(str(node["take_file"].value())) if node["has_take"].value() else ""
    if not folder:
        try:
            root = settings.output_root(str(node["output_root"].evaluate()), _context(node))
        except settings.SettingsError as exc:
            nuke.message("{}: {}".format(node.fullName(), exc))
            return
        folder = os.path.join(root, element_name(node))
    if not os.path.isdir(folder):
        nuke.message("{}: no takes yet ({} does not exist)".format(node.fullName(), folder))
        return
    show_folder(folder)


def show_folder(folder: str) -> None:
    subprocess.Popen(open_command(folder, sys.platform))


def open_command(folder: str, platform: str) -> List[str]:
    """The command that shows `folder` in the file browser of `platform` (`sys.platform`)."""
    if platform.startswith("win"):
        return ["explorer", os.path.normpath(folder)]
    if platform == "darwin":
        return ["open", folder]
    return ["xdg-open", folder]


def on_bake(node: Any) -> None:
    """The "bake to Read" button: the shown take as a Read + Merge2 outside the node."""
    if not node["has_take"].value():
        nuke.message("{}: no take to bake yet; generate or pick one".format(node.fullName()))
        return
    from genvfx_nuke.bake import bake

    read, _ = bake(node)
    _set_status(node, "baked {} to {}".format(node["take_version"].value(), read.name()))


def on_list_models(node: Any) -> None:
    """The "list" button: fill the model pulldown with the models the worker finds."""
    try:
        info = shared_client().info()
    except WorkerError as exc:
        _report(node, str(exc))
        return
    names = model_names(info.get("models") or [])
    node["model_list"].setValues(names)
    _set_status(node, "{} models found".format(len(names)))


def model_names(models: List[Any]) -> List[str]:
    """What the model knob accepts, from the worker's `info` list ("name (family) folder")."""
    return [str(entry).split(" ", 1)[0] for entry in models if str(entry).strip()]


def on_check_install(node: Any) -> None:
    """The "check install" button: the self-check of `python3 -m genvfx_nuke.check`."""
    from genvfx_nuke.check import run_check

    works, lines = run_check()
    _set_status(node, "install works" if works else "install check failed")
    nuke.message("\n".join(lines))


def knob_changed(node: Any, knob: Any) -> None:
    name = knob.name()
    if name == "take":
        select_take(node, str(knob.value()))
    elif name == "model_list" and knob.value():
        node["model"].setValue(str(knob.value()))
    elif name in ("output_root", "showPanel"):
        on_create(node)


# ---- takes -------------------------------------------------------------------------------


def _take_list(node: Any) -> List[takes.TakeInfo]:
    try:
        root = settings.output_root(str(node["output_root"].evaluate()), _context(node))
    except settings.SettingsError:
        return []
    return takes.list_takes(root, element_name(node))


def refresh_takes(node: Any, select_version: Optional[str] = None) -> List[takes.TakeInfo]:
    """Fill the take selector (newest first) and select `select_version` or the saved one."""
    found = _take_list(node)
    wanted = select_version or node["take_version"].value()
    labels = [t.label for t in found]
    node["take"].setValues(labels)
    chosen = next((t for t in found if t.version == wanted), None)
    if chosen is not None:
        node["take"].setValue(labels.index(chosen.label))
        _point_read(node, chosen)
    return found


def select_take(node: Any, label: str) -> None:
    version = label.split(" ", 1)[0]
    for take in _take_list(node):
        if take.version == version:
            _point_read(node, take)
            _set_status(node, "showing {}".format(take.version))
            return


def _point_read(node: Any, take: takes.TakeInfo) -> None:
    node["take_file"].setValue(settings.knob_path(take.pattern))
    node["take_first"].setValue(take.first)
    node["take_last"].setValue(take.last)
    node["take_version"].setValue(take.version)
    node["has_take"].setValue(True)
    _set_read_format(node, take.format)


def _set_read_format(node: Any, size: Optional["tuple[int, int]"]) -> None:
    """Give the internal Read the take's format, so the take enters the comp at its size.

    A gizmo's insides are not saved with the script: opening it lists the takes again
    (`on_create`), which sets the format again. The format is set as script text, the
    anonymous `W H 0 0 W H 1` Nuke writes for a format without a name.
    """
    read = node.node("take_read")
    if read is None or size is None:
        return
    width, height = size
    read["format"].fromScript("{0} {1} 0 0 {0} {1} 1".format(int(width), int(height)))


# ---- preparing a job (main thread) ------------------------------------------------------


def _context(node: Any) -> settings.Context:
    root = nuke.root()
    plate = node.input(0)
    plate_range = None
    plate_format = None
    if plate is not None:
        plate_range = (int(plate.firstFrame()), int(plate.lastFrame()))
        fmt = plate.format()
        plate_format = (int(fmt.width()), int(fmt.height()))
    root_format = root.format()
    return settings.Context(
        name=element_name(node),
        script_path=_script_path(),
        plate_range=plate_range,
        plate_format=plate_format,
        root_range=(int(root.firstFrame()), int(root.lastFrame())),
        root_format=(int(root_format.width()), int(root_format.height())),
        has_mask=node.input(1) is not None,
    )


def _script_path() -> str:
    try:
        path = nuke.scriptName()
    except RuntimeError:
        return ""
    return "" if not path or path == "Root" else path


COLOUR_KNOBS = ("colorManagement", "OCIO_config", "customOCIOConfigPath", "workingSpaceLUT")


def _colour_knobs(root: Any) -> Dict[str, str]:
    """The Root's colour-management knobs, for the worker to read (`docs/worker-protocol.md`).

    The worker, not this layer, decides what they mean, the same way `genvfx generate
    --script` does for a saved script. The custom config path is sent evaluated: only Nuke
    can evaluate its TCL (`[file dirname [value root.name]]/ocio/config.ocio`); a stock
    config that is a file in Nuke's install is sent as that file.
    """
    knobs = root.knobs()
    values = {name: str(root[name].value()) for name in COLOUR_KNOBS if name in knobs}
    if "customOCIOConfigPath" in values:
        values["customOCIOConfigPath"] = str(root["customOCIOConfigPath"].evaluate())
    choice = values.get("OCIO_config", "")
    stock = stock_config_file(nuke.EXE_PATH, choice) if choice and choice != "custom" else None
    if values.get("colorManagement") == "OCIO" and stock is not None:
        values["OCIO_config"] = "custom"
        values["customOCIOConfigPath"] = stock
    return values


def stock_config_file(exe_path: str, name: str) -> Optional[str]:
    """The file of one of Nuke's stock OCIO configs in the running Nuke's install, if any.

    Only Nuke has these files (`nuke-default`, `aces_1.2`, ...): sent as the config path,
    the worker converts with the very config the script uses instead of its own default.
    """
    if not name or os.sep in name or "/" in name or name.startswith("."):
        return None
    path = os.path.join(
        os.path.dirname(exe_path), "plugins", "OCIOConfigs", "configs", name, "config.ocio"
    )
    return path if os.path.isfile(path) else None


def _render_inputs(node: Any, job: Dict[str, Any]) -> Optional[str]:
    """Render the plate (and mask) a plate mode needs, put their paths in the job, and
    return their folder (removed when the job ends). i2v reads one plate frame, the frame
    it starts from, so only that one is rendered."""
    if job["mode"] not in settings.NEEDS_PLATE:
        return None
    first, last = job["frames"]["first"], job["frames"]["last"]
    if job["mode"] == "i2v":
        first = last = int(job.get("condition_frame", first))
    base = os.path.join(job["output_root"], job["name"], INPUTS_FOLDER)
    os.makedirs(base, exist_ok=True)
    folder = tempfile.mkdtemp(prefix=time.strftime("%Y%m%d-%H%M%S-"), dir=base)
    try:
        job["plate"] = _render_input(
            node, PLATE_WRITE, os.path.join(folder, "plate.####.exr"), first, last
        )
        if job["mode"] == "inpaint":
            job["mask"] = _render_input(
                node, MASK_WRITE, os.path.join(folder, "mask.####.exr"), first, last
            )
    except BaseException:
        _remove_inputs(folder)
        raise
    return folder


def _remove_inputs(folder: Optional[str]) -> None:
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


def _render_input(node: Any, write_name: str, path: str, first: int, last: int) -> str:
    """Render one input through the gizmo's internal Write (working-space values, no LUT).

    Full resolution even when the script is in proxy mode (a take is full size), and only
    the script's first view (a take is mono).
    """
    write = node.node(write_name)
    if write is None:
        raise RuntimeError("the gizmo has no internal {} node; reinstall genvfx".format(write_name))
    root = nuke.root()
    proxy = bool(root["proxy"].value())
    write["file"].setValue(settings.knob_path(path, evaluated=True))
    write["disable"].setValue(False)
    try:
        if proxy:
            root["proxy"].setValue(False)
        nuke.execute(write, first, last, 1, views=nuke.views()[:1])
    finally:
        write["disable"].setValue(True)
        if proxy:
            root["proxy"].setValue(True)
    return path


# ---- following a job (background thread) -------------------------------------------------


def follow(handle: JobHandle, node_name: str) -> None:
    """Show a job's progress until it ends; land, report or reset through the main thread."""
    task = nuke.ProgressTask("GenerateElement {}".format(node_name))
    cancel_sent = False
    try:
        while True:
            if not cancel_sent and task.isCancelled():
                cancel_sent = True
                handle.cancel()
                _later(_status_by_name, node_name, "cancelling...")
            event = handle.next_event(POLL_SECONDS)
            if event is None:
                continue
            kind = event.get("event")
            if kind == "progress":
                percent, text = _progress(event)
                task.setProgress(percent)
                task.setMessage(text)
                _later(_status_by_name, node_name, text)
            elif kind == "frame":
                _later(_frame_written, node_name, event)
            elif kind == "stage":
                task.setMessage(str(event.get("message", "")))
                _later(_status_by_name, node_name, str(event.get("message", "")))
            elif kind == "accepted" and event.get("queued"):
                _later(
                    _status_by_name, node_name, "queued behind {} job(s)".format(event["queued"])
                )
            elif kind in ("done", "error", "cancelled"):
                _later(_ended, node_name, event)
                return
    except Exception:
        logger().exception("%s: following the job failed", node_name)
        _later(
            _ended, node_name, {"event": "error", "message": "lost track of the job (see the log)"}
        )
    finally:
        del task


def _progress(event: Dict[str, Any]) -> "tuple[int, str]":
    step, total = int(event.get("step", 0)), max(1, int(event.get("total_steps", 1)))
    done, frames = int(event.get("frames_done", 0)), max(1, int(event.get("frames_total", 1)))
    if done:
        return 90 + done * 10 // frames, "writing frame {}/{}".format(done, frames)
    return step * 90 // total, "step {}/{}".format(step, total)


def _finish(node_name: str) -> Optional[Running]:
    with _active_lock:
        return _active.pop(node_name, None)


def _later(call: Any, *args: Any) -> None:
    """Run `call` on the main thread: queued in the GUI, at once in terminal mode (where the
    follower already is the main thread and nothing would run the queue)."""
    if nuke.GUI:
        nuke.executeInMainThread(call, args)
    else:
        call(*args)


# ---- main-thread landings ----------------------------------------------------------------


def _node_of(node_name: str) -> Any:
    """The job's node: by its full name from the root, in the script the job started in."""
    with _active_lock:
        running = _active.get(node_name)
    if running is not None and running.script != _script_path():
        return None
    with nuke.root():
        return nuke.toNode(node_name)


def _status_by_name(node_name: str, text: str) -> None:
    node = _node_of(node_name)
    if node is not None:
        _set_status(node, text)


def _frame_written(node_name: str, event: Dict[str, Any]) -> None:
    """A frame of the running take exists: show the take from its first frame on, and
    extend its range as frames land. The take list still lists complete takes only."""
    node = _node_of(node_name)
    if node is None or not is_running(node_name):
        return
    try:
        frame = int(event["frame"])
        folder = os.path.dirname(str(event["path"]))
    except (KeyError, TypeError, ValueError):
        return
    match = takes.VERSION_DIR.match(os.path.basename(folder))
    showing = node["has_take"].value() and node["take_version"].value() == os.path.basename(folder)
    if showing and os.path.dirname(str(node["take_file"].value())) == settings.knob_path(folder):
        if frame > int(node["take_last"].value()):
            node["take_last"].setValue(frame)
        return
    take = takes.take_info(folder, int(match.group(1)), running=True) if match else None
    if take is not None:
        _point_read(node, take._replace(last=max(take.first, frame)))


def _ended(node_name: str, event: Dict[str, Any]) -> None:
    """The job is over: the node stays busy until this has run on the main thread."""
    node = _node_of(node_name)
    running = _finish(node_name)
    if running is not None:
        _remove_inputs(running.inputs)
    kind = event.get("event")
    if node is not None and running is not None and kind != "done":
        for knob in SHOWN_KNOBS:
            node[knob].setValue(running.shown[knob])
        refresh_takes(node)
    if node is None:
        logger().info(
            "%s is not in the open script (deleted, or another script was opened) when its job "
            "ended (%s %s)",
            node_name,
            kind,
            event.get("take_dir", ""),
        )
        return
    if kind == "done":
        version = str(event.get("version", ""))
        refresh_takes(node, select_version=version)
        loaded = " (model loaded)" if event.get("model_loaded") else ""
        _set_status(
            node,
            "idle: {} complete, {} frames{}".format(version, len(event.get("frames", [])), loaded),
        )
        _show_state(node, "idle", version)
    elif kind == "cancelled":
        _set_status(node, "idle: cancelled")
        _show_state(node, "idle", str(node["take_version"].value()))
    else:
        _show_state(node, "failed", "failed")
        _report(node, str(event.get("message", "the job failed")), with_traceback=False)


def _set_status(node: Any, text: str) -> None:
    _set_if_changed(node, "status", text)


def _show_state(node: Any, state: str, label: str) -> None:
    """The node's tile colour and label in the graph: running, failed, or the take shown."""
    _set_if_changed(node, "tile_color", TILE_COLOURS[state])
    _set_if_changed(node, "label", label)


def _set_if_changed(node: Any, knob: str, value: Any) -> None:
    """Set a knob unless it already holds `value` (opening a script then leaves it unmodified)."""
    if node[knob].value() != value:
        node[knob].setValue(value)


def _report(node: Any, message: str, with_traceback: bool = True) -> None:
    """One clear message for the compositor; the details go to the log file."""
    if with_traceback:
        logger().error("%s: %s\n%s", node.fullName(), message, traceback.format_exc())
    else:
        logger().error("%s: %s", node.fullName(), message)
    _set_status(node, "error: {}".format(message))
    nuke.message("{}: {}\n\nDetails: {}".format(node.fullName(), message, log_file()))
