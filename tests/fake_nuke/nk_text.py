"""A strict reader of .nk / .gizmo text: commands, words, nodes and the stack.

Strict on purpose: an unbalanced brace, an unterminated quote or a stray closing brace is
an error with a line number, because Nuke would misread the file rather than refuse it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class NkSyntaxError(ValueError):
    pass


@dataclass(frozen=True)
class Word:
    text: str
    kind: str  # "bare", "quoted" or "braced"


def _unescape(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append({"n": "\n", "t": "\t"}.get(nxt, nxt))
            i += 2
        else:
            out.append(char)
            i += 1
    return "".join(out)


def commands(text: str, first_line: int = 1) -> list[tuple[int, list[Word]]]:
    """Split text into logical commands (line number, words)."""
    result: list[tuple[int, list[Word]]] = []
    words: list[Word] = []
    line = first_line
    start_line = line
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "\n":
            if words:
                result.append((start_line, words))
                words = []
            line += 1
            i += 1
            continue
        if char in " \t\r":
            i += 1
            continue
        if not words:
            start_line = line
            if char == "#":
                while i < n and text[i] != "\n":
                    i += 1
                continue
        if char == "}":
            raise NkSyntaxError(f"line {line}: '}}' closes nothing")
        if char == "{":
            depth, j = 1, i + 1
            while j < n and depth:
                c = text[j]
                if c == "\\":
                    j += 2
                    continue
                if c == "{":
                    depth += 1
                elif c == "}":
                    depth -= 1
                elif c == "\n":
                    line += 1
                j += 1
            if depth:
                raise NkSyntaxError(f"line {start_line}: '{{' is never closed")
            words.append(Word(text[i + 1 : j - 1], "braced"))
            i = j
        elif char == '"':
            j = i + 1
            while j < n and text[j] != '"':
                if text[j] == "\\":
                    j += 1
                elif text[j] == "\n":
                    line += 1
                j += 1
            if j >= n:
                raise NkSyntaxError(f"line {start_line}: a quoted value is never closed")
            raw = text[i + 1 : j]
            _check_quoted(raw, start_line)
            words.append(Word(_unescape(raw), "quoted"))
            i = j + 1
        else:
            j = i
            while j < n and text[j] not in ' \t\r\n{}"':
                j += 2 if text[j] == "\\" else 1
            words.append(Word(_unescape(text[i:j]), "bare"))
            i = j
    if words:
        result.append((start_line, words))
    return result


def _check_quoted(raw: str, line: int) -> None:
    """Brackets in a quoted value are TCL substitution unless escaped: refuse them."""
    i = 0
    while i < len(raw):
        if raw[i] == "\\":
            i += 2
            continue
        if raw[i] in "[$":
            raise NkSyntaxError(
                f"line {line}: unescaped {raw[i]!r} in a quoted value would be evaluated by TCL"
            )
        i += 1


@dataclass
class UserKnob:
    type_id: int
    name: str
    label: str = ""
    tooltip: str = ""
    target: str | None = None
    items: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)


@dataclass
class NkNode:
    cls: str
    knobs: dict[str, Word] = field(default_factory=dict)
    user_knobs: list[UserKnob] = field(default_factory=list)
    inputs: list[NkNode | None] = field(default_factory=list)
    children: list[NkNode] = field(default_factory=list)
    line: int = 0

    @property
    def name(self) -> str:
        word = self.knobs.get("name")
        return word.text if word else ""


def parse_user_knob(spec: str, line: int) -> UserKnob:
    words = [w for _, ws in commands(spec, line) for w in ws]
    if len(words) < 2:
        raise NkSyntaxError(f"line {line}: addUserKnob needs a type and a name")
    try:
        knob = UserKnob(int(words[0].text), words[1].text)
    except ValueError:
        raise NkSyntaxError(f"line {line}: addUserKnob type {words[0].text!r}") from None
    i = 2
    while i < len(words):
        word = words[i].text
        if word in ("l", "t", "T", "n") and i + 1 < len(words):
            value = words[i + 1].text
            if word == "l":
                knob.label = value
            elif word == "t":
                knob.tooltip = value
            elif word == "T":
                knob.target = value
            i += 2
        elif word == "M" and i + 1 < len(words):
            knob.items = [w.text for _, ws in commands(words[i + 1].text, line) for w in ws]
            i += 2
        elif word == "R" and i + 2 < len(words):
            i += 3
        elif word[:1] in "+-" and word[1:].isupper():
            knob.flags.append(word)
            i += 1
        else:
            raise NkSyntaxError(f"line {line}: addUserKnob {knob.name}: unexpected {word!r}")
    return knob


def parse_node(cls: str, body: str, line: int) -> NkNode:
    node = NkNode(cls, line=line)
    for knob_line, words in commands(body, line):
        name = words[0].text
        if name == "addUserKnob":
            if len(words) != 2 or words[1].kind != "braced":
                raise NkSyntaxError(f"line {knob_line}: addUserKnob needs one {{...}} spec")
            node.user_knobs.append(parse_user_knob(words[1].text, knob_line))
        elif len(words) == 2:
            node.knobs[name] = words[1]
        else:
            raise NkSyntaxError(f"line {knob_line}: knob {name} has {len(words) - 1} values")
    return node


def input_count(node: NkNode) -> int:
    word = node.knobs.get("inputs")
    if word is None:
        return 1
    total = 0
    for part in word.text.split("+"):
        total += int(part)
    return total


def parse_script(text: str) -> list[NkNode]:
    """Top-level nodes (a Gizmo/Group holds its children), connected through the stack."""
    top: list[NkNode] = []
    levels: list[tuple[list[NkNode], list[NkNode | None], NkNode | None]] = []
    stack: list[NkNode | None] = []
    saved: dict[str, NkNode | None] = {}
    current = top
    group: NkNode | None = None
    for line, words in commands(text):
        head = words[0].text
        if head in ("version", "define_window_layout_xml", "add_layer"):
            continue
        if (
            head == "set"
            and len(words) == 4
            and words[2].text == "[stack"
            and words[3].text == "0]"
        ):
            saved[words[1].text] = stack[-1] if stack else None
            continue
        if head == "push" and len(words) == 2:
            ref = words[1].text
            if ref == "0":
                stack.append(None)
            elif ref.startswith("$") and ref[1:] in saved:
                stack.append(saved[ref[1:]])
            else:
                raise NkSyntaxError(f"line {line}: push of unknown {ref!r}")
            continue
        if head == "end_group":
            if not levels:
                raise NkSyntaxError(f"line {line}: end_group outside a group")
            current, stack, outer_group = levels.pop()
            assert group is not None
            stack.append(group)
            group = outer_group
            continue
        if len(words) == 2 and words[1].kind == "braced":
            node = parse_node(head, words[1].text, line)
            node.inputs = [stack.pop() if stack else None for _ in range(input_count(node))]
            if head == "Root":
                continue
            current.append(node)
            if head in ("Group", "Gizmo", "LiveGroup"):
                levels.append((current, stack, group))
                group, current, stack = node, node.children, []
                continue
            stack.append(node)
            continue
        raise NkSyntaxError(f"line {line}: unknown command {head!r}")
    if levels:
        raise NkSyntaxError("a group is never closed with end_group")
    return top
