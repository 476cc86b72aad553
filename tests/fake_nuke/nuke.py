"""A fake of the parts of Nuke's `nuke` module that genvfx uses, for tests only.

Every public name and method here exists in the `types-nuke` stubs with compatible
parameters (tests/test_nuke_api.py checks it), so the plugin cannot come to rely on
something real Nuke lacks. Gizmos are instantiated from their real .gizmo text. Test
controls (main-thread queue, recorded calls, save and reopen) live in `harness.py`.

Each behaviour that the plugin depends on follows Foundry's documentation, cited where it
is modelled:

- Scripts are saved as .nk text and read back through genvfx's own reader
  (`genvfx.scripts.nk`), knob by knob, the way Nuke reads a script: only knobs that differ
  from their default are written, a knob flagged DO_NOT_WRITE never is ("Disables writing
  knob data to the script file and when copying/pasting",
  https://learn.foundry.com/nuke/developers/105/ndkdevguide/knobs-and-handles/knobflags.html).
- A pulldown (Enumeration_Knob) "stores a single value between 0 and some maximum ... the
  words themselves ... are written to the saved scripts"
  (https://learn.foundry.com/nuke/developers/70/pythonreference/nuke.Enumeration_Knob-class.html):
  the fake keeps an index, `setValues` keeps the index, and reading a word that is not one
  of the items is a load error ("Bad value for ...").
- Names resolve relative to the current group: `nuke.toNode` and `nuke.createNode` act in
  the group the user (or a `with group:` block, `Group.begin/end`) is in
  (https://learn.foundry.com/nuke/developers/113/pythonreference/nuke.Group-class.html:
  "All python code that follows will be executed in the context of node"); a knob script
  of a group runs in that group's context.
- `nuke.GUI` is False in terminal mode (`nuke -t`, farm renders), where nothing runs the
  queue of `nuke.executeInMainThread` ("Execute the callable ... in Nuke's main thread and
  return immediately",
  https://learn.foundry.com/nuke/developers/160/pythondevguide/_autosummary/nukescripts.executeInMainThread.html).
- File knobs evaluate TCL (`tcl.py`); `nuke.execute` on a Write writes real EXR frames
  with OpenImageIO at the path the file knob evaluates to: one file per view (`%V`), at
  proxy scale when the Root's proxy is on.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from tests.fake_nuke import nk_text, tcl

GUI = True
DO_NOT_WRITE = 0x00000200
EXE_PATH = "/usr/local/Nuke15.1v5/Nuke15.1"

_ENUMERATION, _STRING, _FILE, _INT, _BOOL, _DOUBLE, _BUTTON, _TEXT = 4, 1, 2, 3, 6, 7, 22, 26
_TILE = 1001
"""Not an addUserKnob id: the unsigned colour of a node's tile (`tile_color`)."""
_FORMAT = 1002
"""A Read's `format` (Format_Knob): `value()` is a Format; `fromScript` takes the text a
script holds, `W H [X Y R T] PIXEL_ASPECT [NAME]`
(https://learn.foundry.com/nuke/developers/130/pythondevguide/_autosummary/nuke.Format_Knob.html).
Kept as the node's format (`Node.format()`), which a saved script writes on its own line."""


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
    """One knob; `kind` is Nuke's addUserKnob type id (_TILE for `tile_color`)."""

    def __init__(self, name: str, kind: int, value: Any = None, node: Node | None = None) -> None:
        self._name = name
        self._kind = kind
        self._value = value
        self._default = value
        self._values: list[str] = []
        self._flags = 0
        self._node = node

    def name(self) -> str:
        return self._name

    def node(self) -> Node:
        assert self._node is not None
        return self._node

    def value(self, *args: Any, **kwargs: Any) -> Any:
        if self._kind == _FORMAT:
            return self.node()._format
        if self._kind == _ENUMERATION:
            index = int(self._value or 0)
            return self._values[index] if 0 <= index < len(self._values) else ""
        return self._value

    def getValue(self, *args: Any, **kwargs: Any) -> Any:
        if self._kind == _ENUMERATION:
            return float(self._value or 0)
        return self.value()

    def evaluate(self, *args: Any, **kwargs: Any) -> Any:
        """File and EvalString knobs: the value with TCL substituted (`tcl.py`)."""
        if self._kind != _FILE:
            raise AttributeError(f"{self._name}: only file and eval-string knobs evaluate")
        return tcl.substitute(str(self._value or ""), self.node()._tcl_value)

    def setValue(self, *args: Any, **kwargs: Any) -> Any:
        _main_thread_only(f"setting {self._name}")
        value = args[0]
        if self._kind in (_INT, _TILE):
            value = int(value)
        elif self._kind == _DOUBLE:
            value = float(value)
        elif self._kind == _BOOL:
            value = bool(value)
        elif self._kind in (_STRING, _FILE, _TEXT) and not isinstance(value, str):
            raise TypeError(f"{self._name}: a string knob takes a string, not {value!r}")
        elif self._kind == _ENUMERATION:
            if isinstance(value, str):
                if value not in self._values:
                    raise ValueError(f"{self._name}: {value!r} is not one of {self._values}")
                value = self._values.index(value)
            value = int(value)
        self._value = value
        return True

    def setValues(self, *args: Any, **kwargs: Any) -> Any:
        """New items; the index is kept, as in Nuke, so the word shown may change."""
        items = list(args[0])
        if not all(isinstance(i, str) for i in items):
            raise TypeError("setValues takes a list of strings")
        self._values = items
        return None

    def values(self) -> Any:
        return list(self._values)

    def setFlag(self, flag: int) -> None:
        self._flags |= flag

    def getFlag(self, flag: int) -> bool:
        return bool(self._flags & flag)

    def toScript(self, quote: bool = False, context: Any = None) -> str:
        """The text a saved script holds for this knob (a pulldown's word, not its index)."""
        if self._kind == _BOOL:
            return "true" if self._value else "false"
        if self._kind == _TILE:
            return hex(int(self._value or 0))
        return str(self.value())

    def fromScript(self, script: str) -> None:
        """Read the knob's text from a script; a word a pulldown lacks is a load error."""
        if self._kind == _FORMAT:
            _main_thread_only(f"setting {self._name}")
            words = script.split()
            if len(words) not in (3, 4, 7, 8) or not all(w.isdigit() for w in words[:2]):
                raise ValueError(f"Bad value for {self._name} : {script}")
            self.node()._format = Format(int(words[0]), int(words[1]))
        elif self._kind == _ENUMERATION:
            if script not in self._values:
                raise ValueError(f"Bad value for {self._name} : {script}")
            self._value = self._values.index(script)
        elif self._kind in (_INT, _TILE):
            self._value = int(script, 0) if not script.startswith("{") else script
        elif self._kind == _DOUBLE:
            self._value = float(script) if not script.startswith("{") else script
        elif self._kind == _BOOL:
            self._value = script in ("true", "1")
        else:
            self._value = script

    def execute(self) -> None:
        if self._kind != _BUTTON:
            raise TypeError(f"{self._name} is not a button")
        _run_python(str(self._value), self.node(), self)


_CLASS_KNOBS: dict[str, dict[str, tuple[int, Any]]] = {
    "Read": {
        "file": (_FILE, ""),
        "first": (_INT, 1),
        "last": (_INT, 1),
        "origfirst": (_INT, 1),
        "origlast": (_INT, 1),
        "origset": (_BOOL, False),
        "raw": (_BOOL, False),
        "format": (_FORMAT, None),
    },
    "Write": {"file": (_FILE, "")},
}
_EVERY_NODE: dict[str, tuple[int, Any]] = {
    "disable": (_BOOL, False),
    "label": (_STRING, ""),
    "tile_color": (_TILE, 0),
}


class Node:
    def __init__(self, cls: str, name: str, parent: Node | None = None) -> None:
        self._class = cls
        self._knobs: dict[str, Knob] = {}
        self._inputs: list[Node | None] = []
        self._children: list[Node] = []
        self._parent = parent
        self._format = Format(1920, 1080)
        self._add("name", _STRING, name)
        for knob, (kind, default) in {**_EVERY_NODE, **_CLASS_KNOBS.get(cls, {})}.items():
            self._add(knob, kind, default)

    def _add(self, name: str, kind: int, value: Any = None) -> Knob:
        knob = Knob(name, kind, value, self)
        self._knobs[name] = knob
        return knob

    def _tcl_value(self, path: str) -> str:
        """What `[value path]` gives inside one of this node's knobs."""
        if path == "root.name":
            return _ROOT._path
        head, _, knob = path.rpartition(".")
        if head == "parent":
            owner = self._parent
        elif head:
            owner = _resolve(head, self._parent or _ROOT)
        else:
            owner = self
        if owner is None or knob not in owner._knobs:
            raise tcl.TclError(f"no such knob {path!r}")
        return str(owner._knobs[knob].value())

    def Class(self) -> str:
        return self._class

    def name(self) -> str:
        return str(self._knobs["name"].value())

    def setName(self, name: str, uncollide: bool = False, updateExpressions: bool = False) -> None:
        self._knobs["name"]._value = name

    def fullName(self) -> str:
        if self._parent is None or self._parent is _ROOT:
            return self.name()
        return self._parent.fullName() + "." + self.name()

    def parent(self) -> Node:
        return self._parent or _ROOT

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

    def begin(self) -> Node:
        _STATE["context"].append(self)
        return self

    def end(self) -> None:
        if _STATE["context"] and _STATE["context"][-1] is self:
            _STATE["context"].pop()

    def __enter__(self) -> Node:
        return self.begin()

    def __exit__(self, *args: object) -> None:
        self.end()


class Root(Node):
    def __init__(self) -> None:
        super().__init__("Root", "root")
        self._add("first_frame", _INT, 1)
        self._add("last_frame", _INT, 100)
        self._add("proxy", _BOOL, False)
        self._add("proxy_scale", _DOUBLE, 0.5)
        self._add("colorManagement", _ENUMERATION, 0)
        self._knobs["colorManagement"]._values = ["Nuke", "OCIO"]
        self._add("OCIO_config", _ENUMERATION, 0)
        self._knobs["OCIO_config"]._values = ["nuke-default", "custom"]
        self._add("customOCIOConfigPath", _FILE, "")
        self._add("workingSpaceLUT", _STRING, "linear")
        self._path = ""
        self._views = ["main"]

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
    "plugin_path": [],
    "main_queue": [],
    "never_run": [],
    "messages": [],
    "executed": [],
    "tasks": [],
    "menus": {},
    "this": [],
    "context": [],
    "load_errors": [],
}


def _main_thread_only(what: str) -> None:
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError(f"{what} from a background thread: Nuke needs executeInMainThread")


def _run_python(code: str, node: Node, knob: Knob | None) -> None:
    """Run knob Python as Nuke does: `nuke` imported, thisNode/thisKnob set, and the
    context the node's own group (for a gizmo, the inside of the gizmo)."""
    import nuke

    _STATE["this"].append((node, knob))
    context = node if node._children or node.Class() == "Group" else node.parent()
    try:
        with context:
            exec(code, {"nuke": nuke, "__name__": "__main__"})
    finally:
        _STATE["this"].pop()


def _find_gizmo(typ: str) -> str | None:
    for folder in _STATE["plugin_path"]:
        path = os.path.join(folder, typ + ".gizmo")
        if os.path.isfile(path):
            return path
    return None


def _unique_name(base: str, group: Node) -> str:
    taken = {n.name() for n in group._children}
    index = 1
    while f"{base}{index}" in taken:
        index += 1
    return f"{base}{index}"


def _knob_from_word(node: Node, name: str, word: nk_text.Word) -> None:
    knob = node._knobs.get(name)
    if knob is None:
        node._add(name, _STRING, word.text)
    else:
        knob.fromScript(word.text)
    node._knobs[name]._default = node._knobs[name]._value


def _build(parsed: nk_text.NkNode, parent: Node | None, name: str) -> Node:
    node = Node(parsed.cls, name, parent)
    for user in parsed.user_knobs:
        default: Any = {_INT: 0, _DOUBLE: 0.0, _BOOL: False, _ENUMERATION: 0}.get(user.type_id, "")
        if user.type_id in (_BUTTON, _TEXT) and user.target is not None:
            default = user.target
        knob = node._add(user.name, user.type_id, default)
        knob._values = list(user.items)
        if "+DO_NOT_WRITE" in user.flags:
            knob.setFlag(DO_NOT_WRITE)
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


def _instantiate(typ: str, name: str, group: Node) -> Node:
    """A node of class `typ` in `group`: a gizmo from its file, else a plain node."""
    gizmo = _find_gizmo(typ)
    if gizmo is not None:
        with open(gizmo, encoding="utf-8") as handle:
            parsed = nk_text.parse_script(handle.read())
        node = _build(parsed[0], group, name)
        node._class = typ
    else:
        node = Node(typ, name, group)
    with _LOCK:
        group._children.append(node)
    return node


def _on_create(node: Node) -> None:
    on_create = node._knobs.get("onCreate")
    if on_create is not None and on_create.value():
        _run_python(str(on_create.value()), node, None)


def _resolve(path: str, group: Node) -> Node | None:
    if path.startswith("root."):
        group, path = _ROOT, path[len("root.") :]
    node: Node | None = group
    for part in path.split("."):
        node = node.node(part) if node is not None else None
    return node


def createNode(typ: str, knobs: str = "", inpanel: bool = True) -> Node:
    _main_thread_only("createNode")
    group = thisGroup()
    node = _instantiate(typ, _unique_name(typ, group), group)
    _on_create(node)
    return node


def toNode(s: str) -> Node | None:
    """The node called `s` in the current group (`root.` names from the top)."""
    return _resolve(s, thisGroup())


def thisGroup() -> Node:
    return _STATE["context"][-1] if _STATE["context"] else _ROOT


def delete(n: Node | None) -> None:
    if n is not None and n._parent is not None and n in n._parent._children:
        n._parent._children.remove(n)


def root() -> Root:
    return _ROOT


def scriptName() -> str:
    if not _ROOT._path:
        raise RuntimeError("no script name: the script is untitled")
    return _ROOT._path


def views() -> list[str]:
    return list(_ROOT._views)


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
    """Render a Write: one EXR per frame and view, at proxy scale when proxy is on."""
    _main_thread_only("nuke.execute")
    node = toNode(nameOrNode) if isinstance(nameOrNode, str) else nameOrNode
    if node is None or node.Class() != "Write":
        raise ValueError(f"{nameOrNode!r} is not a Write node")
    if node["disable"].value():
        raise RuntimeError(f"{node.fullName()} is disabled")
    pattern = str(node["file"].evaluate())
    rendered = list(views) if views is not None else list(_ROOT._views)
    with _LOCK:
        _STATE["executed"].append(
            (
                node.fullName(),
                pattern,
                start,
                end,
                incr,
                tuple(rendered),
                bool(_ROOT["proxy"].value()),
            )
        )
    from tests.fake_nuke import render

    render.write_frames(node, pattern, range(start, end + 1, incr), rendered)


def executeInMainThread(call: Callable[..., Any], args: Any = (), kwargs: Any = None) -> None:
    if not isinstance(args, tuple):
        args = (args,)
    with _LOCK:
        _STATE["main_queue" if GUI else "never_run"].append((call, args, dict(kwargs or {})))


def message(prompt: str) -> None:
    _main_thread_only("nuke.message")
    with _LOCK:
        _STATE["messages"].append(prompt)


def pluginAddPath(args: str, addToSysPath: bool = True) -> None:
    with _LOCK:
        _STATE["plugin_path"].insert(0, args)


def pluginPath() -> list[str]:
    return list(_STATE["plugin_path"])


def menu(name: str) -> Menu:
    return _STATE["menus"].setdefault(name, Menu(name))


def scriptSave(filename: str | None) -> bool:
    from tests.fake_nuke import nk_write

    path = filename or _ROOT._path
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(nk_write.script_text(_ROOT))
    _ROOT._path = path
    return True


def scriptClose(*args: Any, **kwargs: Any) -> Any:
    with _LOCK:
        _ROOT.__init__()  # type: ignore[misc]
        _STATE["context"].clear()
    return None


def scriptOpen(filename: str | None = None) -> None:
    """Read a saved script; knob errors are collected as Nuke reports them, not raised."""
    from tests.fake_nuke import nk_write

    assert filename is not None
    scriptClose()
    _ROOT._path = filename
    with open(filename, "rb") as handle:
        nk_write.load(handle.read(), _ROOT)


def nodePaste(s: str) -> Node | None:
    """Paste the .nk text in the file `s` into the current group."""
    from tests.fake_nuke import nk_write

    with open(s, "rb") as handle:
        made = nk_write.load(handle.read(), thisGroup(), paste=True)
    return made[-1] if made else None
