"""A .nk / .gizmo script as a list of statements that tile its bytes exactly.

Every byte of the file belongs to exactly one statement (comment, blank, command or node
block), so `Script.to_bytes()` of an unchanged script is the original file. Nodes know
their knobs, their group and, after the stack is simulated, their inputs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import InvalidField
from .tokens import line_words, skip_blank, word_end, word_text

if TYPE_CHECKING:
    from .stack import Step

_OWN_KNOBS = frozenset({"name", "xpos", "ypos", "selected"})
GROUP_CLASSES = frozenset({"Group", "Gizmo", "LiveGroup"})
COMMANDS = frozenset(
    {"version", "define_window_layout_xml", "add_layer", "set", "push", "end_group"}
)


@dataclass
class Knob:
    """One knob line of a node: its name and the raw words of its value."""

    name: str
    words: list[bytes]

    @property
    def value(self) -> str:
        """The knob's value as text (several words are joined by one space)."""
        return " ".join(word_text(w) for w in self.words)


@dataclass
class Statement:
    """A run of whole lines: `kind` is comment, blank, command or node."""

    start: int
    end: int
    kind: str
    words: list[str] = field(default_factory=list)
    node: Node | None = None


@dataclass(eq=False)
class Node:
    """A node block (`Class {...}`) or a clone (`clone $Cxxx {...}`)."""

    cls: str
    knobs: list[Knob]
    statement: Statement
    parent: Node | None = None
    clone_ref: str | None = None
    children: list[Node] = field(default_factory=list)
    end_statement: Statement | None = None
    inputs: list[Input] = field(default_factory=list)
    clone_source: Node | None = None

    def knob(self, name: str) -> str | None:
        """The value of the last knob line called `name`, or None.

        A clone shares its source's knobs: what its own block does not set comes from the
        source, except the knobs that place and name it.
        """
        for knob in reversed(self.knobs):
            if knob.name == name:
                return knob.value
        if self.clone_source is not None and name not in _OWN_KNOBS:
            return self.clone_source.knob(name)
        return None

    @property
    def name(self) -> str | None:
        return self.knob("name")

    @property
    def full_name(self) -> str:
        """The dotted path Nuke uses inside groups: `Group1.Read1`."""
        own = self.name or f"<{self.cls}>"
        return f"{self.parent.full_name}.{own}" if self.parent else own

    @property
    def is_group(self) -> bool:
        return self.cls in GROUP_CLASSES and self.clone_ref is None

    @property
    def input_counts(self) -> tuple[int, int]:
        """(normal inputs, mask inputs) from the `inputs N` / `inputs N+M` knob (default 1)."""
        text = self.knob("inputs")
        if text is None:
            return (0, 0) if self.cls == "Root" else (1, 0)
        head, _, tail = text.partition("+")
        try:
            return max(0, int(head)), max(0, int(tail or 0))
        except ValueError:
            return 1, 0

    @property
    def input_total(self) -> int:
        normal, mask = self.input_counts
        return normal + mask

    def __repr__(self) -> str:
        return f"Node({self.cls} {self.full_name})"


@dataclass(frozen=True)
class External:
    """An input that comes from outside the text: the paste selection, an unset name, nothing."""

    label: str


Input = Node | External | None
"""A resolved input: a node, something outside the script, or None (`push 0`)."""


class Script:
    """A parsed script. Build with `Script.parse(bytes)` or `Script.read(path)`."""

    def __init__(self, data: bytes, statements: list[Statement], nodes: list[Node]) -> None:
        self.data = data
        self.statements = statements
        self._nodes = nodes
        self.timelines: dict[Node | None, list[Step]] = {}

    @classmethod
    def read(cls, path: Path) -> Script:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise InvalidField(
                "script", str(path), f"a readable .nk file ({exc.strerror})"
            ) from None
        return cls.parse(data)

    @classmethod
    def parse(cls, data: bytes) -> Script:
        statements = _statements(data)
        nodes = _build_tree(statements)
        script = cls(data, statements, nodes)
        from .stack import resolve_inputs

        resolve_inputs(script)
        return script

    def to_bytes(self) -> bytes:
        return b"".join(self.data[s.start : s.end] for s in self.statements)

    def nodes(self) -> list[Node]:
        """Every node, groups' children included, in file order."""
        return list(self._nodes)

    def top_level(self) -> Iterator[Node]:
        return (n for n in self._nodes if n.parent is None)

    @property
    def root(self) -> Node | None:
        return next((n for n in self._nodes if n.cls == "Root" and n.parent is None), None)

    def by_class(self, cls: str) -> list[Node]:
        return [n for n in self._nodes if n.cls == cls]

    def find(self, name: str) -> Node:
        """The node called `name` (a dotted path inside groups, or a name that is unique)."""
        exact = [n for n in self._nodes if n.full_name == name]
        if len(exact) == 1:
            return exact[0]
        loose = [n for n in self._nodes if n.name == name]
        if len(loose) == 1:
            return loose[0]
        if not loose:
            names = sorted({n.full_name for n in self._nodes if n.name})
            shown = ", ".join(names[:15]) + (", ..." if len(names) > 15 else "")
            raise InvalidField("node", name, f"a node of the script ({shown})")
        raise InvalidField(
            "node", name, "one node; several match: " + ", ".join(n.full_name for n in loose)
        )

    def newline(self) -> bytes:
        """The file's line ending (CRLF when most lines use it)."""
        crlf = self.data.count(b"\r\n")
        return b"\r\n" if crlf and crlf * 2 >= self.data.count(b"\n") else b"\n"


def _statements(data: bytes) -> list[Statement]:
    statements: list[Statement] = []
    pos, size = 0, len(data)
    while pos < size:
        start = pos
        first = skip_blank(data, pos)
        if first >= size or data[first] == 0x0A:
            end = min(first + 1, size)
            statements.append(Statement(start, end, "blank"))
            pos = end
            continue
        if data[first] == 0x23:  # '#'
            newline = data.find(b"\n", first)
            end = size if newline < 0 else newline + 1
            statements.append(Statement(start, end, "comment"))
            pos = end
            continue
        statements.append(_command_or_node(data, start, first))
        pos = statements[-1].end
    return statements


def _command_or_node(data: bytes, start: int, first: int) -> Statement:
    head_end = word_end(data, first)
    head = word_text(data[first:head_end])
    if head not in COMMANDS:
        header = [head]
        pos = skip_blank(data, head_end)
        while pos < len(data) and data[pos] not in b"\n{":
            end = word_end(data, pos)
            header.append(word_text(data[pos:end]))
            pos = skip_blank(data, end)
        if pos < len(data) and data[pos] == 0x7B and _ends_line(data, pos + 1):
            return _node(data, start, header, pos + 1)
    words, end = line_words(data, first)
    return Statement(start, end, "command", [word_text(data[a:b]) for a, b in words])


def _ends_line(data: bytes, pos: int) -> bool:
    pos = skip_blank(data, pos)
    return pos >= len(data) or data[pos] == 0x0A


def _node(data: bytes, start: int, header: list[str], pos: int) -> Statement:
    """A node block from just after its `{`: knob lines until a line that starts with `}`."""
    size = len(data)
    knobs: list[Knob] = []
    while True:
        pos = skip_blank(data, pos)
        if pos >= size:
            end = size
            break
        if data[pos] == 0x0A:
            pos += 1
            continue
        if data[pos] == 0x7D:  # '}'
            _, end = line_words(data, pos + 1)
            break
        words, pos = line_words(data, pos)
        raw = [data[a:b] for a, b in words]
        knobs.append(Knob(word_text(raw[0]), raw[1:]))
    statement = Statement(start, end, "node", header)
    if header[0] == "clone":
        ref = header[1] if len(header) > 1 else ""
        cls = header[2] if len(header) > 2 else ""
        node = Node(cls, knobs, statement, clone_ref=ref)
    else:
        node = Node(header[0], knobs, statement)
    statement.node = node
    return statement


def _build_tree(statements: list[Statement]) -> list[Node]:
    nodes: list[Node] = []
    groups: list[Node] = []
    for statement in statements:
        if statement.node is not None:
            node = statement.node
            node.parent = groups[-1] if groups else None
            if node.parent is not None:
                node.parent.children.append(node)
            nodes.append(node)
            if node.is_group:
                groups.append(node)
        elif statement.kind == "command" and statement.words[:1] == ["end_group"] and groups:
            groups.pop().end_statement = statement
    return nodes
