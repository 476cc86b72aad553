"""The `genvfx` command line: one argparse parser, one subcommand module per command."""

from .main import main

__all__ = ["main"]
