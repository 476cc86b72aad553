"""genvfx engine: one GenerationJob in, one scene-linear EXR take out.

Importing this package is cheap: torch and diffusers are imported only when a
generation starts, so job validation, `genvfx --help` and the worker's start stay fast.
"""

__version__ = "0.1.0"
