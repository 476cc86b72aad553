"""The Nuke layer against the real API surface: types-nuke stubs, Python 3.9, stdlib only.

The chain: the plugin runs against the fake in the other tests (so whatever it calls
exists in the fake), and here every public name and method of the fake exists in the
types-nuke stubs with compatible parameters, as does every `nuke.X(...)` call the plugin
(and the gizmo's knob scripts) makes.
"""

from __future__ import annotations

import ast
import inspect
import os
import shutil
import subprocess
import sys
import sysconfig
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fake_nuke import nk_text
from tests.fake_nuke import nuke as fake

REPO = Path(__file__).resolve().parents[1]
NUKE_PATH = REPO / "nuke_plugin"
PLUGIN_FILES = [*sorted((NUKE_PATH / "genvfx_nuke").glob("*.py")), *sorted(NUKE_PATH.glob("*.py"))]
GIZMO = REPO / "gizmos" / "GenerateElement.gizmo"
STUB_FILES = (
    "_nuke.pyi",
    "utils.pyi",
    "callbacks.pyi",
    "colorspaces.pyi",
    "executeInMain.pyi",
    "overrides.pyi",
    "scripts.pyi",
)
FAKE_CLASSES = {
    "Format": ("Format",),
    "Node": ("Node", "Group"),
    "Root": ("Root",),
    "ProgressTask": ("ProgressTask",),
    "Menu": ("Menu",),
    "Knob": ("Knob",),  # any subclass of Knob: the fake has one class for every knob type
}


@dataclass(frozen=True)
class Params:
    """A signature as positional names, how many of them are required, and catch-alls."""

    positional: tuple[str, ...]
    required: int
    keyword_only: tuple[str, ...]
    varargs: bool
    varkw: bool

    def accepts_call(self, positional: int, keywords: set[str]) -> bool:
        if positional > len(self.positional) and not self.varargs:
            return False
        named = set(self.positional[positional:]) | set(self.keyword_only)
        if not self.varkw and not keywords <= named:
            return False
        bound = positional + len(keywords & set(self.positional[positional:]))
        return self.varargs or self.varkw or bound >= self.required

    def admits(self, fake: Params) -> bool:
        """A call valid against `fake` is valid against this stub signature."""
        if self.varargs and self.varkw:
            return True
        if (fake.varargs and not self.varargs) or (fake.varkw and not self.varkw):
            return False
        for index, name in enumerate(fake.positional):
            if index >= len(self.positional):
                if not self.varargs:
                    return False
            elif self.positional[index] != name and not self.varargs:
                return False
        return self.varargs or fake.required >= self.required


def stub_params(node: ast.FunctionDef, method: bool) -> Params:
    args = node.args
    positional = [a.arg for a in (*args.posonlyargs, *args.args)]
    if method and positional:
        positional = positional[1:]
    required = len(positional) - len(args.defaults)
    return Params(
        tuple(positional),
        max(0, required),
        tuple(a.arg for a in args.kwonlyargs),
        args.vararg is not None,
        args.kwarg is not None,
    )


def fake_params(function: object) -> Params:
    signature = inspect.signature(function)  # type: ignore[arg-type]
    positional = [
        p
        for p in signature.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    kinds = {p.kind for p in signature.parameters.values()}
    return Params(
        tuple(p.name for p in positional),
        sum(1 for p in positional if p.default is p.empty),
        tuple(p.name for p in signature.parameters.values() if p.kind == p.KEYWORD_ONLY),
        inspect.Parameter.VAR_POSITIONAL in kinds,
        inspect.Parameter.VAR_KEYWORD in kinds,
    )


@dataclass
class Stubs:
    functions: dict[str, list[Params]]
    attributes: set[str]
    classes: dict[str, dict[str, list[Params]]]
    bases: dict[str, list[str]]

    def methods(self, cls: str) -> dict[str, list[Params]]:
        """A class's methods including inherited ones (nearest definition first)."""
        found: dict[str, list[Params]] = {}
        for name in [cls, *self.ancestors(cls)]:
            for method, params in self.classes.get(name, {}).items():
                found.setdefault(method, []).extend(params)
        return found

    def ancestors(self, cls: str) -> list[str]:
        out: list[str] = []
        for base in self.bases.get(cls, []):
            out += [base, *self.ancestors(base)]
        return out

    def subclasses(self, cls: str) -> list[str]:
        return [c for c in self.classes if c == cls or cls in self.ancestors(c)]


def stub_dir() -> Path:
    folder = Path(sysconfig.get_paths()["purelib"]) / "nuke-stubs"
    if not folder.is_dir():
        pytest.skip(f"types-nuke is not installed ({folder} missing): pip install types-nuke")
    return folder


@pytest.fixture(scope="module")
def stubs() -> Stubs:
    folder = stub_dir()
    result = Stubs({}, set(), {}, {})
    for name in STUB_FILES:
        tree = ast.parse((folder / name).read_text())
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                result.functions.setdefault(node.name, []).append(stub_params(node, False))
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                result.attributes.add(node.target.id)
            elif isinstance(node, ast.Assign):
                result.attributes.update(t.id for t in node.targets if isinstance(t, ast.Name))
            elif isinstance(node, ast.ClassDef):
                methods: dict[str, list[Params]] = {}
                for item in node.body:
                    if isinstance(item, ast.FunctionDef):
                        methods.setdefault(item.name, []).append(stub_params(item, True))
                result.classes[node.name] = methods
                result.bases[node.name] = [b.id for b in node.bases if isinstance(b, ast.Name)]
    assert "createNode" in result.functions and "Node" in result.classes, "unexpected stub layout"
    return result


def fake_public() -> Iterator[tuple[str, object]]:
    for name, value in vars(fake).items():
        if name.startswith("_") or isinstance(value, types.ModuleType):
            continue
        if type(value).__module__ in ("__future__", "typing", "collections.abc"):
            continue
        if callable(value) and getattr(value, "__module__", None) != fake.__name__:
            continue
        yield name, value


def test_fake_module_names_exist_in_stubs(stubs: Stubs) -> None:
    checked = 0
    for name, value in fake_public():
        if inspect.isclass(value):
            assert name in stubs.classes, f"fake nuke.{name}: no such class in types-nuke"
        elif callable(value):
            assert name in stubs.functions, f"fake nuke.{name}(): not in types-nuke"
            fake_sig = fake_params(value)
            assert any(s.admits(fake_sig) for s in stubs.functions[name]), (
                f"fake nuke.{name}{inspect.signature(value)} does not match types-nuke"
            )
        else:
            assert name in stubs.attributes, f"fake nuke.{name}: not an attribute in types-nuke"
        checked += 1
    assert checked >= 15


@pytest.mark.parametrize("fake_class", sorted(FAKE_CLASSES))
def test_fake_methods_exist_in_stubs(stubs: Stubs, fake_class: str) -> None:
    cls = getattr(fake, fake_class)
    targets = FAKE_CLASSES[fake_class]
    if fake_class == "Knob":
        targets = tuple(stubs.subclasses("Knob"))
    available: dict[str, list[Params]] = {}
    for target in targets:
        for method, params in stubs.methods(target).items():
            available.setdefault(method, []).extend(params)
    own = [
        (name, value)
        for name, value in vars(cls).items()
        if inspect.isfunction(value) and (not name.startswith("_") or name == "__getitem__")
    ]
    assert own
    for name, function in own:
        assert name in available, f"fake {fake_class}.{name}: not in types-nuke {targets}"
        signature = fake_params(function)
        signature = Params(
            signature.positional[1:],
            max(0, signature.required - 1),
            signature.keyword_only,
            signature.varargs,
            signature.varkw,
        )
        assert any(s.admits(signature) for s in available[name]), (
            f"fake {fake_class}.{name}{inspect.signature(function)} does not match types-nuke"
        )


def nuke_calls(tree: ast.AST) -> Iterator[tuple[str, ast.AST]]:
    """Every `nuke.X` in a tree, with the call node when it is called."""
    calls = {
        id(n.func): n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
    }
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "nuke"
        ):
            yield node.attr, calls.get(id(node), node)


def gizmo_scripts() -> list[str]:
    gizmo = nk_text.parse_script(GIZMO.read_text())[0]
    scripts = [gizmo.knobs[k].text for k in ("onCreate", "knobChanged")]
    scripts += [k.target or "" for k in gizmo.user_knobs if k.type_id == 22]
    return scripts


def plugin_trees() -> Iterator[tuple[str, ast.AST]]:
    for path in PLUGIN_FILES:
        yield path.name, ast.parse(path.read_text())
    for index, script in enumerate(gizmo_scripts()):
        yield f"gizmo script {index}", ast.parse(script)


def test_every_nuke_call_in_the_plugin_matches_the_stubs(stubs: Stubs) -> None:
    used = set()
    for where, tree in plugin_trees():
        for name, node in nuke_calls(tree):
            used.add(name)
            known = name in stubs.functions or name in stubs.classes or name in stubs.attributes
            assert known, f"{where}: nuke.{name} is not in types-nuke"
            assert hasattr(fake, name), f"{where}: nuke.{name} is missing from the fake"
            if isinstance(node, ast.Call) and name in stubs.functions:
                keywords = {k.arg for k in node.keywords if k.arg}
                assert any(
                    s.accepts_call(len(node.args), keywords) for s in stubs.functions[name]
                ), f"{where}: nuke.{name} called with {len(node.args)} args {keywords}"
    assert {"execute", "executeInMainThread", "ProgressTask", "message", "toNode"} <= used


def test_params_check_catches_a_wrong_signature() -> None:
    stub = Params(("nameOrNode", "start", "end", "incr"), 3, (), False, False)
    assert stub.admits(Params(("nameOrNode", "start", "end"), 3, (), False, False))
    assert not stub.admits(Params(("node", "start", "end"), 3, (), False, False))
    assert not stub.admits(Params(("nameOrNode", "start"), 1, (), False, False))
    assert not stub.accepts_call(2, set())
    assert stub.accepts_call(3, set())


def test_plugin_is_standard_library_only_and_python_39(tmp_path: Path) -> None:
    allowed = set(sys.stdlib_module_names) | {"nuke", "genvfx_nuke"}
    for path in PLUGIN_FILES:
        tree = ast.parse(path.read_text(), filename=str(path), feature_version=(3, 9))
        has_future = any(
            isinstance(n, ast.ImportFrom) and n.module == "__future__" for n in tree.body
        )
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                names = []
            for name in names:
                assert name.split(".")[0] in allowed, f"{path.name} imports {name}"
            annotations = []
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                annotations = [a.annotation for a in ast.walk(node.args) if isinstance(a, ast.arg)]
                annotations.append(node.returns)
            elif isinstance(node, ast.AnnAssign):
                annotations = [node.annotation]
            for annotation in annotations:
                if annotation is None or has_future:
                    continue
                for part in ast.walk(annotation):
                    assert not (isinstance(part, ast.BinOp) and isinstance(part.op, ast.BitOr)), (
                        f"{path.name}:{part.lineno}: X | Y annotations fail at run time on 3.9"
                    )


def python39() -> str | None:
    """A working Python 3.9 (pyenv's versions first: its shims may not be active)."""
    pyenv = Path(os.path.expanduser("~/.pyenv/versions"))
    candidates = [str(p) for p in sorted(pyenv.glob("3.9*/bin/python3.9"))]
    candidates.append(shutil.which("python3.9") or "")
    for candidate in filter(None, candidates):
        try:
            check = subprocess.run([candidate, "--version"], capture_output=True, timeout=30)
        except OSError:
            continue
        if check.returncode == 0:
            return candidate
    return None


def test_plugin_imports_and_runs_under_a_real_python_39(tmp_path: Path) -> None:
    interpreter = python39()
    if interpreter is None:
        pytest.skip("no python3.9 interpreter on this machine")
    (tmp_path / "nuke.py").write_text("")
    code = (
        "import genvfx_nuke.node, genvfx_nuke.install, genvfx_nuke.worker_client\n"
        "from genvfx_nuke import settings, takes\n"
        "ctx = settings.Context('El1', '/s/comp.nk', (1001, 1009), (64, 64), (1, 100), (8, 8), False)\n"
        "job = settings.build_job({'prompt': 'p', 'model': 'm', 'mode': 't2v'}, ctx)\n"
        "assert job['frames'] == {'first': 1001, 'last': 1009}, job\n"
        "print(takes.list_takes('/nonexistent', 'El1'), genvfx_nuke.worker_client.worker_command())\n"
    )
    result = subprocess.run(
        [
            interpreter,
            "-I",
            "-c",
            f"import sys; sys.path[:0] = {[str(tmp_path), str(NUKE_PATH)]!r}\n{code}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={"GENVFX_WORKER": "genvfx worker", "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    assert "['genvfx', 'worker']" in result.stdout
