"""The engine's sub-packages form layers: each imports only its own layer and those below.

Reading the tree top-down is reading the layers: a newcomer can find a concern from the
folder names, and a change low down never has to know about what is built on it.
"""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[1] / "core"
LAYERS = (
    ("__init__", "errors", "events", "paths"),
    ("job",),
    ("models",),
    ("media",),
    ("take",),
    ("pipeline",),
    ("scripts",),
    ("farm",),
    ("worker",),
    ("cli", "__main__"),
)
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def _module(relative: Path) -> tuple[str, ...]:
    parts = relative.with_suffix("").parts
    return parts[:-1] if parts[-1] == "__init__" else parts


def _imports(relative: Path, text: str, top_level_only: bool = False) -> list[tuple[str, ...]]:
    """The genvfx modules a file imports (as paths of names under the package)."""
    package = relative.parent.parts
    tree = ast.parse(text)
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: list[tuple[str, ...]] = []
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            base = package[: len(package) - (node.level - 1)]
            if node.module:
                found.append((*base, *node.module.split(".")))
            else:
                found.extend((*base, alias.name) for alias in node.names)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            for name in names:
                assert not (name or "").startswith(("core.", "genvfx")), (
                    f"{relative}:{node.lineno} imports the package by name; use a relative import"
                )
    return [target for target in found if target]


def _sources() -> dict[Path, str]:
    return {p.relative_to(CORE): p.read_text(encoding="utf-8") for p in CORE.rglob("*.py")}


def _upward(relative: Path, text: str) -> list[str]:
    here = RANK[relative.parts[0].removesuffix(".py")]
    return [
        f"{relative} imports {'.'.join(target)}"
        for target in _imports(relative, text)
        if RANK.get(target[0].removesuffix(".py"), 0) > here
    ]


def test_every_sub_package_is_placed_in_a_layer() -> None:
    parts = {relative.parts[0].removesuffix(".py") for relative in _sources()}
    assert parts <= set(RANK), sorted(parts - set(RANK))


def test_no_import_runs_up_the_layers() -> None:
    wrong = [line for relative, text in _sources().items() for line in _upward(relative, text)]
    assert not wrong, "\n".join(wrong)


def test_the_check_sees_an_upward_import() -> None:
    assert _upward(Path("media/exr.py"), "from ..pipeline.engine import generate\n")
    assert _upward(Path("job/job.py"), "from .. import models\n")
    assert not _upward(Path("pipeline/engine.py"), "from ..media.exr import write_exr\n")


def test_no_import_cycle_between_modules() -> None:
    sources = _sources()
    modules = {_module(relative): relative for relative in sources}
    graph: dict[tuple[str, ...], set[tuple[str, ...]]] = {}
    for module, relative in modules.items():
        edges = set()
        for target in _imports(relative, sources[relative], top_level_only=True):
            while target and target not in modules:
                target = target[:-1]
            if target and target != module and target != module[: len(target)]:
                edges.add(target)
        graph[module] = edges
    state: dict[tuple[str, ...], int] = {}

    def visit(module: tuple[str, ...], path: list[tuple[str, ...]]) -> None:
        state[module] = 1
        for target in graph[module]:
            if state.get(target) == 1:
                cycle = [*path[path.index(target) :], target] if target in path else [target]
                raise AssertionError("import cycle: " + " -> ".join(".".join(m) for m in cycle))
            if target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in graph:
        if module not in state:
            visit(module, [module])


def test_the_architecture_page_names_every_module() -> None:
    page = (CORE.parent / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    missing = [
        str(relative)
        for relative in sorted(_sources())
        if relative.name != "__init__.py" and relative.name not in page
    ]
    packages = {relative.parts[0] for relative in _sources() if len(relative.parts) > 1}
    missing += [f"{package}/" for package in sorted(packages) if f"{package}/" not in page]
    assert not missing, f"docs/ARCHITECTURE.md does not mention {missing}"
