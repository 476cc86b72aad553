"""A fake of the parts of Nuke's `nuke` module that genvfx uses, for tests only.

Every public name and method here exists in the `types-nuke` stubs with compatible
parameters (tests/test_nuke_api.py checks it), so the plugin cannot come to rely on
something real Nuke lacks. Gizmos are instantiated from their real .gizmo text.
Test controls (main-thread queue, recorded calls) live in `harness.py`, not here.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from tests.fake_nuke import nk_text

GUI = True


class Format:
    def __init__(self, width: int, height: int, name: str = "") -> None:
        self._width, self._height, self._name = width, height, name

    def width(self) -> int:
        return self._width

    def height(self) -> int:
        return self._height

    def name(self) -> str:
        return self._name


class Knob:
    """One knob; `kind` is Nuke's addUserKnob type id (or a name for built-in knobs)."""

    def __init__(self, name: str, kind: int, value: Any = None, node: Node | None = None) -> None:
        self._name = name
        self._kind = kind
        self._value = value
        self._values: list[str] = []
        self._node = node

    def name(self) -> str:
        return self._name

    def node(self) -> Node:
        assert self._node is not None
        return self._node

    def value(self, *args: Any, **kwargs: Any) -> Any:
        if self._kind == 4:
            if isinstance(self._value, int):
                return self._values[self._value] if 0 <= self._value < len(self._values) else ""
            return self._value or ""
        return self._value

    def getValue(self, *args: Any, **kwargs: Any) -> Any:
        return self.value()

    def setValue(self, *args: Any, **kwargs: Any) -> Any:
        _main_thread_only(f"setting {self._name}")
        value = args[0]
        if self._kind == 3:
            value = int(value)
        elif self._kind == 7:
            value = float(value)
        elif self._kind == 6:
            value = bool(value)
        elif self._kind in (1, 2, 26) and not isinstance(value, str):
            raise TypeError(f"{self._name}: a string knob takes a string, not {value!r}")
        elif self._kind == 4 and isinstance(value, str) and value not in self._values:
            raise ValueError(f"{self._name}: {value!r} is not one of {self._values}")
        self._value = value
        return True

    def setValues(self, *args: Any, **kwargs: Any) -> Any:
        items = list(args[0])
        if not all(isinstance(i, str) for i in items):
            raise TypeError("setValues takes a list of strings")
        current = self.value()
        self._values = items
        self._value = current if current in items else (items[0] if items else "")
        return None

    def values(self) -> Any:
        return list(self._values)

    def execute(self) -> None:
        if self._kind != 22:
            raise TypeError(f"{self._name} is not a button")
        _run_python(str(self._value), self.node(), self)


_CLASS_KNOBS: dict[str, dict[str, tuple[int, Any]]] = {
    "Read": {"file": (2, ""), "first": (3, 1), "last": (3, 1)},
    "Write": {"file": (2, "")},
}


class Node:
    def __init__(self, cls: str, name: str, parent: Node | None = None) -> None:
        self._class = cls
        self._knobs: dict[str, Knob] = {}
        self._inputs: list[Node | None] = []
        self._children: list[Node] = []
        self._parent = parent
        self._format = Format(1920, 1080)
        self._add("name", 1, name)
        self._add("disable", 6, False)
        for knob, (kind, default) in _CLASS_KNOBS.get(cls, {}).items():
            self._add(knob, kind, default)

    def _add(self, name: str, kind: int, value: Any = None) -> Knob:
        knob = Knob(name, kind, value, self)
        self._knobs[name] = knob
        return knob

    def Class(self) -> str:
        return self._class

    def name(self) -> str:
        return str(self._knobs["name"].value())

    def fullName(self) -> str:
        if self._parent is None or self._parent is _ROOT:
            return self.name()
        return self._parent.fullName() + "." + self.name()

    def knob(self, p: str | int, follow_link: bool = False) -> Knob | None:
        return self._knobs.get(str(p))

    def knobs(self) -> dict[str, Knob]:
        return dict(self._knobs)

    def __getitem__(self, name: str) -> Knob:
        if name not in self._knobs:
            raise NameError(f"{self.fullName()} has no knob named {name!r}")
        return self._knobs[name]

    def input(self, index: int) -> Node | None:
        return self._inputs[index] if index < len(self._inputs) else None

    def inputs(self) -> int:
        return len(self._inputs)

    def setInput(self, i: int, node: Node | None) -> bool:
        while len(self._inputs) <= i:
            self._inputs.append(None)
        self._inputs[i] = node
        return True

    def firstFrame(self) -> int:
        knob = self._knobs.get("first")
        return int(knob.value()) if knob else root().firstFrame()

    def lastFrame(self) -> int:
        knob = self._knobs.get("last")
        return int(knob.value()) if knob else root().lastFrame()

    def format(self) -> Format:
        return self._format

    def node(self, s: str) -> Node | None:
        return next((c for c in self._children if c.name() == s), None)

    def nodes(self) -> list[Node]:
        return list(self._children)


class Root(Node):
    def __init__(self) -> None:
        super().__init__("Root", "root")
        self._add("first_frame", 3, 1)
        self._add("last_frame", 3, 100)
        self._add("colorManagement", 4, "Nuke")
        self._knobs["colorManagement"]._values = ["Nuke", "OCIO"]
        self._add("OCIO_config", 4, "nuke-default")
        self._add("customOCIOConfigPath", 2, "")
        self._add("workingSpaceLUT", 1, "linear")
        self._path = ""

    def firstFrame(self) -> int:
        return int(self._knobs["first_frame"].value())

    def lastFrame(self) -> int:
        return int(self._knobs["last_frame"].value())


class ProgressTask:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._title = str(args[0]) if args else ""
        self._cancelled = False
        self._progress = 0
        self._messages: list[str] = []
        with _LOCK:
            _STATE["tasks"].append(self)

    def isCancelled(self, *args: Any, **kwargs: Any) -> Any:
        return self._cancelled

    def setMessage(self, *args: Any, **kwargs: Any) -> Any:
        self._messages.append(str(args[0]))

    def setProgress(self, *args: Any, **kwargs: Any) -> Any:
        value = args[0]
        if not isinstance(value, int) or not 0 <= value <= 100:
            raise ValueError(f"ProgressTask.setProgress takes an int 0-100, not {value!r}")
        self._progress = value


class Menu:
    def __init__(self, name: str) -> None:
        self._name = name
        self._items: dict[str, Any] = {}

    def name(self) -> str:
        return self._name

    def addMenu(self, *args: Any, **kwargs: Any) -> Any:
        return self._items.setdefault(str(args[0]), Menu(str(args[0])))

    def addCommand(self, *args: Any, **kwargs: Any) -> Any:
        self._items[str(args[0])] = args[1] if len(args) > 1 else None
        return None

    def findItem(self, name: str) -> Any:
        return self._items.get(name)


_LOCK = threading.RLock()
_ROOT = Root()
_STATE: dict[str, Any] = {
    "nodes": [],
    "plugin_path": [],
    "main_queue": [],
    "messages": [],
    "executed": [],
    "tasks": [],
    "menus": {},
    "this": [],
}


def _main_thread_only(what: str) -> None:
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError(f"{what} from a background thread: Nuke needs executeInMainThread")


def _run_python(code: str, node: Node, knob: Knob | None) -> None:
    """Run knob Python as Nuke does: `nuke` imported, thisNode/thisKnob set."""
    import nuke

    _STATE["this"].append((node, knob))
    try:
        exec(code, {"nuke": nuke, "__name__": "__main__"})
    finally:
        _STATE["this"].pop()


def _find_gizmo(typ: str) -> str | None:
    for folder in _STATE["plugin_path"]:
        path = os.path.join(folder, typ + ".gizmo")
        if os.path.isfile(path):
            return path
    return None


def _unique_name(base: str) -> str:
    taken = {n.name() for n in _STATE["nodes"]}
    index = 1
    while f"{base}{index}" in taken:
        index += 1
    return f"{base}{index}"


def _knob_from_word(node: Node, name: str, word: nk_text.Word) -> None:
    text = word.text
    knob = node._knobs.get(name)
    if knob is None:
        node._add(name, 1, text)
        return
    if knob._kind == 3:
        knob._value = int(float(text)) if not text.startswith("{") else text
    elif knob._kind == 7:
        knob._value = float(text)
    elif knob._kind == 6:
        knob._value = text == "true"
    else:
        knob._value = text


def _build(parsed: nk_text.NkNode, parent: Node | None, name: str) -> Node:
    node = Node(parsed.cls, name, parent)
    for user in parsed.user_knobs:
        default: Any = {3: 0, 7: 0.0, 6: False}.get(user.type_id, "")
        if user.type_id in (22, 26) and user.target is not None:
            default = user.target
        knob = node._add(user.name, user.type_id, default)
        if user.type_id == 4:
            knob._values = list(user.items)
            knob._value = user.items[0] if user.items else ""
    for knob_name, word in parsed.knobs.items():
        if knob_name != "name":
            _knob_from_word(node, knob_name, word)
    made: dict[int, Node] = {}
    for child in parsed.children:
        made[id(child)] = _build(child, node, child.name or child.cls)
        node._children.append(made[id(child)])
    for child in parsed.children:
        built = made[id(child)]
        for index, source in enumerate(child.inputs):
            built.setInput(index, made.get(id(source)) if source is not None else None)
    return node


def createNode(typ: str, knobs: str = "", inpanel: bool = True) -> Node:
    _main_thread_only("createNode")
    gizmo = _find_gizmo(typ)
    name = _unique_name(typ)
    if gizmo is not None:
        with open(gizmo, encoding="utf-8") as handle:
            parsed = nk_text.parse_script(handle.read())
        node = _build(parsed[0], _ROOT, name)
        node._class = typ
    else:
        node = Node(typ, name, _ROOT)
    with _LOCK:
        _STATE["nodes"].append(node)
    on_create = node._knobs.get("onCreate")
    if on_create is not None and on_create.value():
        _run_python(str(on_create.value()), node, None)
    return node


def toNode(s: str) -> Node | None:
    head, _, rest = s.partition(".")
    node = next((n for n in _STATE["nodes"] if n.name() == head), None)
    while node is not None and rest:
        head, _, rest = rest.partition(".")
        node = node.node(head)
    return node


def delete(n: Node | None) -> None:
    if n is not None and n in _STATE["nodes"]:
        _STATE["nodes"].remove(n)


def root() -> Root:
    return _ROOT


def scriptName() -> str:
    if not _ROOT._path:
        raise RuntimeError("no script name: the script is untitled")
    return _ROOT._path


def thisNode() -> Node:
    return _STATE["this"][-1][0]


def thisKnob() -> Knob:
    knob = _STATE["this"][-1][1]
    assert knob is not None
    return knob


def execute(
    nameOrNode: Node | str,
    start: int,
    end: int,
    incr: int = 1,
    views: list[str] | None = None,
    continueOnError: bool = False,
) -> None:
    _main_thread_only("nuke.execute")
    node = toNode(nameOrNode) if isinstance(nameOrNode, str) else nameOrNode
    if node is None or node.Class() != "Write":
        raise ValueError(f"{nameOrNode!r} is not a Write node")
    if node["disable"].value():
        raise RuntimeError(f"{node.fullName()} is disabled")
    with _LOCK:
        _STATE["executed"].append((node.fullName(), str(node["file"].value()), start, end, incr))


def executeInMainThread(call: Callable[..., Any], args: Any = (), kwargs: Any = None) -> None:
    if not isinstance(args, tuple):
        args = (args,)
    with _LOCK:
        _STATE["main_queue"].append((call, args, dict(kwargs or {})))


def message(prompt: str) -> None:
    _main_thread_only("nuke.message")
    with _LOCK:
        _STATE["messages"].append(prompt)


def pluginAddPath(args: str, addToSysPath: bool = True) -> None:
    with _LOCK:
        _STATE["plugin_path"].insert(0, args)


def menu(name: str) -> Menu:
    return _STATE["menus"].setdefault(name, Menu(name))
