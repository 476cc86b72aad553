"""Words of the .nk text format, scanned over bytes in linear time, and TCL-safe quoting.

A word is bare (`/path/f.####.exr`, `2+1`, may hold `[...]` with spaces), "quoted" (backslash
escapes, raw newlines allowed) or {braced} (nests, no substitution, may span lines).
Scanning jumps between special characters with compiled patterns, so a single
947,000-character line costs one pass, never a rescan.
"""

from __future__ import annotations

import re

BLANK = re.compile(rb"[ \t\r\f\v]*")
_QUOTED_STOP = re.compile(rb'["\\]')
_BRACED_STOP = re.compile(rb"[{}\\]")
_BARE_STOP = re.compile(rb"[ \t\r\n\f\v\\\[]")
_BRACKET_STOP = re.compile(rb"[\[\]\\]")

ENCODING = "utf-8"
ERRORS = "surrogateescape"


def skip_blank(data: bytes, pos: int) -> int:
    """First position at or after `pos` that is not a blank (newlines are not blanks)."""
    match = BLANK.match(data, pos)
    return match.end() if match else pos


def word_end(data: bytes, pos: int) -> int:
    """End (exclusive) of the word starting at `pos`; an unterminated word runs to the end."""
    first = data[pos : pos + 1]
    if first == b'"':
        return _quoted_end(data, pos + 1)
    if first == b"{":
        return _nested_end(data, pos + 1, _BRACED_STOP, b"{")
    return _bare_end(data, pos)


def _quoted_end(data: bytes, pos: int) -> int:
    size = len(data)
    while True:
        match = _QUOTED_STOP.search(data, pos)
        if match is None:
            return size
        if match.group() == b'"':
            return match.end()
        pos = match.end() + 1


def _nested_end(data: bytes, pos: int, stops: re.Pattern[bytes], opener: bytes) -> int:
    """End of a `{...}` or `[...]` group whose opener is just before `pos` (escapes skipped)."""
    size = len(data)
    depth = 1
    while True:
        match = stops.search(data, pos)
        if match is None:
            return size
        char = match.group()
        if char == b"\\":
            pos = match.end() + 1
            continue
        depth += 1 if char == opener else -1
        pos = match.end()
        if depth == 0:
            return pos


def _bare_end(data: bytes, pos: int) -> int:
    size = len(data)
    while True:
        match = _BARE_STOP.search(data, pos)
        if match is None:
            return size
        char = match.group()
        if char == b"\\":
            pos = min(match.end() + 1, size)
        elif char == b"[":
            pos = _nested_end(data, match.end(), _BRACKET_STOP, b"[")
        else:
            return match.start()


def line_words(data: bytes, pos: int) -> tuple[list[tuple[int, int]], int]:
    """The words of one logical line from `pos`, and where the next line starts."""
    words: list[tuple[int, int]] = []
    size = len(data)
    while True:
        pos = skip_blank(data, pos)
        if pos >= size:
            return words, size
        if data[pos] == 0x0A:
            return words, pos + 1
        end = word_end(data, pos)
        words.append((pos, end))
        pos = end


_SIMPLE_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
}
_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{1,2}|u[0-9A-Fa-f]{1,4}|[0-7]{1,3}|\n[ \t]*|.)", re.S)


def _unescape(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        head = code[0]
        if head in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[head]
        if head in "xu" and len(code) > 1:
            return chr(int(code[1:], 16))
        if head in "01234567":
            return chr(int(code, 8) & 0xFF)
        if head == "\n":
            return " "
        return code

    return _ESCAPE.sub(one, text)


def word_text(raw: bytes) -> str:
    """The value a word stands for: quotes and braces removed, backslash escapes applied.

    Braced text is taken verbatim (TCL does not substitute inside braces). Bytes that are
    not UTF-8 survive as surrogate escapes, so `os.fsencode` gives the original bytes back.
    """
    text = raw.decode(ENCODING, ERRORS)
    if len(text) >= 2 and text[0] == "{" and text[-1] == "}":
        return text[1:-1]
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return _unescape(text[1:-1])
    return _unescape(text)


_MUST_ESCAPE = {
    "\\": "\\\\",
    '"': '\\"',
    "[": "\\[",
    "]": "\\]",
    "$": "\\$",
    "{": "\\{",
    "}": "\\}",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}


def quote(text: str) -> str:
    """`text` as a quoted word that TCL reads back as exactly `text`, never substituting.

    Every character TCL gives meaning inside quotes (`[ ] $ \\ "`) and the braces and line
    breaks that would confuse a line-based reader are backslash-escaped; other control
    characters become `\\uXXXX`.
    """
    out = ['"']
    for char in text:
        escaped = _MUST_ESCAPE.get(char)
        if escaped is not None:
            out.append(escaped)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)
