"""Test controls for the fake `nuke` module: reset, pump the main thread, inspect calls."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from tests.fake_nuke import nuke

VALUE_REF = re.compile(r"^\[value parent\.(\w+)\]$")
EXPR_REF = re.compile(r"^\{parent\.(\w+)\}$")


def reset() -> None:
    """A fresh, untitled session: no nodes, nothing recorded."""
    with nuke._LOCK:
        for value in nuke._STATE.values():
            value.clear()
    nuke._ROOT.__init__()  # type: ignore[misc]


def set_script(path: str) -> None:
    nuke._ROOT._path = path


def make_plate(first: int, last: int, width: int, height: int) -> nuke.Node:
    plate = nuke.createNode("Read", inpanel=False)
    plate["first"].setValue(first)
    plate["last"].setValue(last)
    plate._format = nuke.Format(width, height)
    return plate


def pump(until: Callable[[], bool], timeout: float = 60.0) -> None:
    """Run what background threads queued for the main thread until `until()` holds."""
    deadline = time.monotonic() + timeout
    while True:
        while True:
            with nuke._LOCK:
                if not nuke._STATE["main_queue"]:
                    break
                call, args, kwargs = nuke._STATE["main_queue"].pop(0)
            call(*args, **kwargs)
        if until():
            return
        if time.monotonic() > deadline:
            raise TimeoutError("the condition did not hold in time")
        time.sleep(0.02)


def user_set(node: nuke.Node, knob: str, value: Any) -> None:
    """A compositor changes a knob: the value changes, then the node's knobChanged runs."""
    node[knob].setValue(value)
    code = node.knob("knobChanged")
    if code is not None and code.value():
        nuke._run_python(str(code.value()), node, node[knob])


def evaluate(node: nuke.Node, knob: str) -> Any:
    """A child knob's value with `[value parent.X]` / `{parent.X}` links resolved."""
    value = node[knob].value()
    if isinstance(value, str):
        parent = node._parent
        assert parent is not None
        for pattern in (VALUE_REF, EXPR_REF):
            match = pattern.match(value)
            if match:
                return parent[match.group(1)].value()
    return value


def messages() -> list[str]:
    return list(nuke._STATE["messages"])


def executed() -> list[tuple[str, str, int, int, int]]:
    return list(nuke._STATE["executed"])


def tasks() -> list[nuke.ProgressTask]:
    return list(nuke._STATE["tasks"])


def cancel_task(task: nuke.ProgressTask) -> None:
    """The compositor presses the progress bar's cancel."""
    task._cancelled = True


def menu(name: str) -> nuke.Menu:
    return nuke._STATE["menus"][name]


def reopen(node: nuke.Node) -> nuke.Node:
    """Save and reopen: a fresh instance of the gizmo with the saved knob values, then onCreate.

    Only the node's own knobs are saved (a gizmo's internal nodes are rebuilt from the
    .gizmo file), as in Nuke.
    """
    saved = {name: knob._value for name, knob in node._knobs.items()}
    inputs = list(node._inputs)
    typ = node.Class()
    path = nuke._find_gizmo(typ)
    assert path is not None
    with open(path, encoding="utf-8") as handle:
        parsed = nuke.nk_text.parse_script(handle.read())
    with nuke._LOCK:
        nuke._STATE["nodes"].remove(node)
    fresh = nuke._build(parsed[0], nuke._ROOT, str(saved["name"]))
    fresh._class = typ
    for name, value in saved.items():
        if name in fresh._knobs:
            fresh._knobs[name]._value = value
    for index, source in enumerate(inputs):
        fresh.setInput(index, source)
    with nuke._LOCK:
        nuke._STATE["nodes"].append(fresh)
    nuke._run_python(str(fresh["onCreate"].value()), fresh, None)
    return fresh


def reset_messages() -> None:
    with nuke._LOCK:
        nuke._STATE["messages"].clear()
