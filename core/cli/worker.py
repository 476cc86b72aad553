"""`genvfx worker`: a long-lived process that runs jobs sent as JSON lines on stdin."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ..paths import cache_dir


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "worker",
        help="serve jobs as JSON lines on stdin/stdout (for the Nuke node and pipeline tools)",
        description="Read requests (hello, generate, cancel, shutdown) as JSON lines on stdin and "
        "answer with events on stdout, keeping loaded pipelines between jobs. Exits when "
        "stdin closes. Logs go to stderr and the log file. See docs/worker-protocol.md.",
    )
    parser.add_argument(
        "--log-file",
        help="log file (default: $GENVFX_LOG_DIR/worker.log, else <cache>/logs/worker.log)",
    )
    parser.set_defaults(run=run)


def default_log_file() -> str:
    folder = os.environ.get("GENVFX_LOG_DIR") or str(cache_dir() / "logs")
    return os.path.join(folder, "worker.log")


def run(args: argparse.Namespace) -> int:
    from ..worker.server import Channel, Worker, configure_logging, protocol_stream

    stream = protocol_stream()
    configure_logging(args.log_file or default_log_file())
    try:
        return Worker(Channel(stream)).serve(sys.stdin.buffer)
    finally:
        stream.close()
