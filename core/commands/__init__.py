"""One module per subcommand; each has `register(subparsers)` and sets `run` on its parser."""

from __future__ import annotations

from types import ModuleType

from core.commands import audit, farm, generate, info, insert

COMMANDS: list[ModuleType] = [info, generate, insert, farm, audit]
