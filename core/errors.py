"""The error tree. Each entry point catches `GenvfxError` once and maps it to an exit code."""

from __future__ import annotations

import reprlib
from typing import Any


class GenvfxError(Exception):
    """Base of every error genvfx raises on purpose."""

    exit_code = 1


class InvalidInput(GenvfxError):
    """The user asked for something that cannot be done as stated; nothing was written."""

    exit_code = 2


class _Shown(reprlib.Repr):
    """`repr` cut to a readable size, safe for any depth, length or integer size."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel = 3
        self.maxstring = 200
        self.maxother = 200
        self.maxlong = 60

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 200:
            return f"<an integer of about {int(x.bit_length() * 0.30103) + 1} digits>"
        return super().repr_int(x, level)


_SHOWN = _Shown()


def safe_text(text: str) -> str:
    """`text` with anything that is not valid Unicode (lone surrogates) shown as escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def shown(value: Any) -> str:
    """A value as an error message quotes it: its repr, cut short where it is long or deep."""
    try:
        return _SHOWN.repr(value)
    except Exception:
        return f"<a {type(value).__name__}>"


class InvalidField(InvalidInput):
    """One field of a job (or one flag) holds a value outside what is allowed."""

    def __init__(self, field: str, value: object, allowed: str) -> None:
        self.field = safe_text(str(field))
        self.value = value
        self.allowed = allowed
        super().__init__(f"{self.field}: {shown(value)} is not allowed; expected {allowed}")


class ModelNotFound(InvalidInput):
    """The model reference names no folder, built-in or (allowed) hub id."""


class UnsupportedMode(InvalidInput):
    """The model's family cannot run the requested mode."""


class RuntimeFailure(GenvfxError):
    """Something failed while running a valid job (model load, inference, disk)."""

    exit_code = 1


class Cancelled(GenvfxError):
    """The job was cancelled; no frame was left under a final name."""

    exit_code = 130
