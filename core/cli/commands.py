"""One module per subcommand; each has `register(subparsers)` and sets `run` on its parser."""

from __future__ import annotations

from types import ModuleType

from . import audit, farm, generate, info, insert, matte, resume, takes, worker

COMMANDS: list[ModuleType] = [info, generate, matte, resume, takes, worker, insert, farm, audit]
