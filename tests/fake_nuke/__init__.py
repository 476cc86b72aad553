"""A small typed fake of Nuke's Python API, for tests only (see `nuke.py` and `harness.py`)."""
