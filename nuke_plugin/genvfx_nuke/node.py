"""The GenerateElement node: its buttons and callbacks, and landing takes in the graph.

Threads: buttons and callbacks run on Nuke's main thread, which also renders the inputs
(`nuke.execute`). A background thread per job follows the worker's events with a
`nuke.ProgressTask`; every change to knobs or nodes it asks for goes through
`nuke.executeInMainThread`.

The internal Read is linked by expressions in the gizmo to the hidden knobs `take_file`,
`take_first`, `take_last` and `has_take`, which are saved with the script: setting those
knobs is landing a take, and reopening the script shows the same take without Python.
"""

import os
import random
import tempfile
import threading
import time
import traceback
from typing import Any, Dict, List, Optional

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
)
POLL_SECONDS = 0.1

_active: Dict[str, JobHandle] = {}
_active_lock = threading.Lock()


def is_running(node_name: str) -> bool:
    with _active_lock:
        return node_name in _active


# ---- buttons and callbacks (main thread) -------------------------------------------------


def on_generate(node: Any) -> None:
    """The Generate button: validate, render inputs, send the job, follow it."""
    name = node.fullName()
    if is_running(name):
        nuke.message("{} is already generating; cancel it first.".format(name))
        return
    try:
        job = settings.build_job({knob: node[knob].value() for knob in VALUE_KNOBS}, _context(node))
        client = shared_client()
        _render_inputs(node, job)
        handle = client.submit(job, script_colour=_colour_knobs(nuke.root()))
    except settings.SettingsError as exc:
        _set_status(node, "not started: {}".format(exc))
        nuke.message("{}: {}".format(name, exc))
        return
    except WorkerError as exc:
        _report(node, str(exc))
        return
    except Exception as exc:
        _report(node, "could not start: {}: {}".format(type(exc).__name__, exc))
        return
    with _active_lock:
        _active[name] = handle
    _set_status(node, "queued")
    follower = threading.Thread(
        target=follow, args=(handle, name), name="genvfx-follow-" + name, daemon=True
    )
    follower.start()


def on_cancel(node: Any) -> None:
    """The Cancel button: ask the worker to stop this node's job after the current step."""
    name = node.fullName()
    with _active_lock:
        handle = _active.get(name)
    if handle is None:
        _set_status(node, "idle: nothing to cancel")
        return
    _set_status(node, "cancelling...")
    handle.cancel()


def on_randomise_seed(node: Any) -> None:
    node["seed"].setValue(random.randint(0, settings.MAX_SEED))


def on_create(node: Any) -> None:
    """Node created or script opened: list the takes on disk and keep the saved choice."""
    try:
        refresh_takes(node)
    except Exception:
        logger().exception("%s: refreshing takes failed", node.fullName())


def knob_changed(node: Any, knob: Any) -> None:
    name = knob.name()
    if name == "take":
        select_take(node, str(knob.value()))
    elif name in ("output_root", "showPanel"):
        on_create(node)


# ---- takes -------------------------------------------------------------------------------


def _take_list(node: Any) -> List[takes.TakeInfo]:
    try:
        root = settings.output_root(node["output_root"].value(), _context(node))
    except settings.SettingsError:
        return []
    return takes.list_takes(root, node.name())


def refresh_takes(node: Any, select_version: Optional[str] = None) -> List[takes.TakeInfo]:
    """Fill the take selector (newest first) and select `select_version` or the saved one."""
    found = _take_list(node)
    wanted = select_version or node["take_version"].value()
    labels = [t.label for t in found]
    node["take"].setValues(labels)
    chosen = next((t for t in found if t.version == wanted), None)
    if chosen is not None:
        node["take"].setValue(chosen.label)
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
    node["take_file"].setValue(take.pattern)
    node["take_first"].setValue(take.first)
    node["take_last"].setValue(take.last)
    node["take_version"].setValue(take.version)
    node["has_take"].setValue(True)


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
        name=node.name(),
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
    --script` does for a saved script.
    """
    knobs = root.knobs()
    return {name: str(root[name].value()) for name in COLOUR_KNOBS if name in knobs}


def _render_inputs(node: Any, job: Dict[str, Any]) -> None:
    """Render the plate (and mask) a plate mode needs, and put their paths in the job."""
    if job["mode"] not in settings.NEEDS_PLATE:
        return
    first, last = job["frames"]["first"], job["frames"]["last"]
    base = os.path.join(job["output_root"], job["name"], INPUTS_FOLDER)
    os.makedirs(base, exist_ok=True)
    folder = tempfile.mkdtemp(prefix=time.strftime("%Y%m%d-%H%M%S-"), dir=base)
    job["plate"] = _render_input(
        node, PLATE_WRITE, os.path.join(folder, "plate.####.exr"), first, last
    )
    if job["mode"] == "inpaint":
        job["mask"] = _render_input(
            node, MASK_WRITE, os.path.join(folder, "mask.####.exr"), first, last
        )


def _render_input(node: Any, write_name: str, path: str, first: int, last: int) -> str:
    """Render one input through the gizmo's internal Write (working-space values, no LUT)."""
    write = node.node(write_name)
    if write is None:
        raise RuntimeError("the gizmo has no internal {} node; reinstall genvfx".format(write_name))
    write["file"].setValue(path)
    write["disable"].setValue(False)
    try:
        nuke.execute(write, first, last, 1)
    finally:
        write["disable"].setValue(True)
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


def _finish(node_name: str) -> None:
    with _active_lock:
        _active.pop(node_name, None)


def _later(call: Any, *args: Any) -> None:
    nuke.executeInMainThread(call, args)


# ---- main-thread landings ----------------------------------------------------------------


def _status_by_name(node_name: str, text: str) -> None:
    node = nuke.toNode(node_name)
    if node is not None:
        _set_status(node, text)


def _ended(node_name: str, event: Dict[str, Any]) -> None:
    """The job is over: the node stays busy until this has run on the main thread."""
    _finish(node_name)
    node = nuke.toNode(node_name)
    kind = event.get("event")
    if node is None:
        logger().info("%s was deleted before its job ended (%s)", node_name, kind)
        return
    if kind == "done":
        version = str(event.get("version", ""))
        refresh_takes(node, select_version=version)
        loaded = " (model loaded)" if event.get("model_loaded") else ""
        _set_status(
            node,
            "idle: {} complete, {} frames{}".format(version, len(event.get("frames", [])), loaded),
        )
    elif kind == "cancelled":
        _set_status(node, "idle: cancelled")
    else:
        _report(node, str(event.get("message", "the job failed")), with_traceback=False)


def _set_status(node: Any, text: str) -> None:
    node["status"].setValue(text)


def _report(node: Any, message: str, with_traceback: bool = True) -> None:
    """One clear message for the compositor; the details go to the log file."""
    if with_traceback:
        logger().error("%s: %s\n%s", node.fullName(), message, traceback.format_exc())
    else:
        logger().error("%s: %s", node.fullName(), message)
    _set_status(node, "error: {}".format(message))
    nuke.message("{}: {}\n\nDetails: {}".format(node.fullName(), message, log_file()))
