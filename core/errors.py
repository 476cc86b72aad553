"""The error tree. Each entry point catches `GenvfxError` once and maps it to an exit code."""

from __future__ import annotations


class GenvfxError(Exception):
    """Base of every error genvfx raises on purpose."""

    exit_code = 1


class InvalidInput(GenvfxError):
    """The user asked for something that cannot be done as stated; nothing was written."""

    exit_code = 2


class InvalidField(InvalidInput):
    """One field of a job (or one flag) holds a value outside what is allowed."""

    def __init__(self, field: str, value: object, allowed: str) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"{field}: {value!r} is not allowed; expected {allowed}")


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
