"""The little of Nuke's TCL substitution the plugin's knobs meet, for the fake `nuke`.

Foundry, EvalString_Knob.evaluate: "Evaluate the string, performing substitutions"
(https://learn.foundry.com/nuke/developers/63/pythonreference/nuke.EvalString_Knob-class.html);
File_Knob derives from it
(https://learn.foundry.com/nuke/developers/70/pythonreference/nuke.File_Knob-class.html).
TCL substitution: a backslash takes the next character literally (so a Windows path
`C:\\shots` becomes `C:shots`), `[command args]` is replaced by the command's result, and a
result is never substituted again. Commands modelled: `value KNOB` (a knob's raw value:
`root.name` is the script path, `parent.X` the enclosing group's knob, `Node.knob` a node
in the same group) and `file dirname PATH`. Anything else is an error, as it would be a
surprise in a test.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable

Lookup = Callable[[str], str]


class TclError(ValueError):
    pass


def substitute(text: str, lookup: Lookup) -> str:
    out, _ = _substitute(text, 0, lookup, closing=False)
    return out


def _substitute(text: str, pos: int, lookup: Lookup, closing: bool) -> tuple[str, int]:
    out: list[str] = []
    while pos < len(text):
        char = text[pos]
        if char == "\\" and pos + 1 < len(text):
            out.append(text[pos + 1])
            pos += 2
        elif char == "[":
            command, pos = _substitute(text, pos + 1, lookup, closing=True)
            out.append(_run(command, lookup))
        elif char == "]" and closing:
            return "".join(out), pos + 1
        else:
            out.append(char)
            pos += 1
    if closing:
        raise TclError(f"missing close-bracket in {text!r}")
    return "".join(out), pos


def _run(command: str, lookup: Lookup) -> str:
    words = command.split()
    if len(words) == 2 and words[0] == "value":
        return lookup(words[1])
    if len(words) == 3 and words[:2] == ["file", "dirname"]:
        return posixpath.dirname(words[2]) or "."
    raise TclError(f"the fake evaluates only value and file dirname, not [{command}]")
