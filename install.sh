#!/usr/bin/env bash
# Set up genvfx in a virtual environment, then prove the install by generating a take with
# the built-in tiny model (abstract frames, no download). Prints the take's folder.
#   GENVFX_VENV  where the environment goes (default .venv)
#   PYTHON       the interpreter to build it from (default python3, 3.10 or newer)
set -euo pipefail
cd "$(dirname "$0")"
VENV="${GENVFX_VENV:-.venv}"
"${PYTHON:-python3}" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# Pinned first: on Linux with an NVIDIA driver this is the CUDA build, elsewhere the CPU build.
"$VENV/bin/python" -m pip install --quiet "torch==2.13.0"
"$VENV/bin/python" -m pip install --quiet -e ".[dev]"
"$VENV/bin/genvfx" generate --model builtin:tiny-ltx --prompt "dust plume" \
    --frames 1001-1009 --format 64x64 --seed 7 --steps 4 --out takes --name dust
