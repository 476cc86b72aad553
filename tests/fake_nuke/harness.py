"""Test controls for the fake `nuke` module: reset, pump the main thread, inspect calls."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.fake_nuke import nk_write, nuke

VALUE_REF = re.compile(r"^\[value parent\.(\w+)\]$")
EXPR_REF = re.compile(r"^\{parent\.(\w+)\}$")


def reset() -> None:
    """A fresh, untitled session in GUI mode: no nodes, nothing recorded."""
    with nuke._LOCK:
        for value in nuke._STATE.values():
            value.clear()
    nuke._ROOT.__init__()  # type: ignore[misc]
    nuke.GUI = True


def start_nuke(nuke_path: Path) -> None:
    """Nuke starting with NUKE_PATH: the folder joins the plugin path, its init.py runs."""
    nuke.pluginAddPath(str(nuke_path))
    code = (nuke_path / "init.py").read_text(encoding="utf-8")
    exec(compile(code, str(nuke_path / "init.py"), "exec"), {"__name__": "__main__"})


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


def executed() -> list[tuple[str, str, int, int, int, tuple[str, ...], bool]]:
    """(Write, evaluated path, first, last, step, views, proxy on) of each `nuke.execute`."""
    return list(nuke._STATE["executed"])


def tasks() -> list[nuke.ProgressTask]:
    return list(nuke._STATE["tasks"])


def cancel_task(task: nuke.ProgressTask) -> None:
    """The compositor presses the progress bar's cancel."""
    task._cancelled = True


def menu(name: str) -> nuke.Menu:
    return nuke._STATE["menus"][name]


def reopen(node: nuke.Node) -> nuke.Node:
    """Save the script, close it, open it again: the same node, as Nuke reads it back."""
    assert nuke._ROOT._path, "reopen needs a saved script (set_script first)"
    full = node.fullName()
    path = nuke._ROOT._path
    nuke.scriptSave(path)
    nuke.scriptOpen(path)
    with nuke.root():
        found = nuke.toNode(full)
    assert found is not None, f"{full} is not in the reopened script"
    return found


def paste(node: nuke.Node, clipboard: str) -> nuke.Node:
    """Copy `node` as .nk text and paste it into the current group (a new, unique name)."""
    with open(clipboard, "w", encoding="utf-8") as handle:
        handle.write(nk_write.node_text(node))
    pasted = nuke.nodePaste(clipboard)
    assert pasted is not None
    return pasted


def load_errors() -> list[str]:
    return list(nuke._STATE["load_errors"])


@contextmanager
def terminal() -> Iterator[None]:
    """Nuke in terminal mode (`nuke -t`, a farm render): no GUI, no main-thread queue."""
    nuke.GUI = False
    try:
        yield
    finally:
        nuke.GUI = True


def enter(group: nuke.Node) -> None:
    """The artist opens a group's node graph: names now resolve inside it."""
    nuke._STATE["context"][:] = [group]


def never_run() -> list[Any]:
    """Calls queued for the main thread in terminal mode, which Nuke never runs."""
    return list(nuke._STATE["never_run"])


def reset_messages() -> None:
    with nuke._LOCK:
        nuke._STATE["messages"].clear()
