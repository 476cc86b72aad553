"""Check an install from anywhere: `python3 -m genvfx_nuke.check` with the NUKE_PATH folder on
the path (or run from inside it).

It starts the worker exactly as the node does (`GENVFX_WORKER`, the same scrubbed
environment), exchanges hello, asks for `info` and prints the worker's version, protocol,
device, dtype, OCIO config and models. Exit 0 when all of that works; 1 with the cause
when not. The node's "Check install" button shows the same report.
"""

import sys
from typing import Any, Dict, List, Optional

from genvfx_nuke.worker_client import PROTOCOL, WorkerClient, WorkerError, worker_command

INFO_TIMEOUT = 120.0


def report_lines(command: List[str], version: Optional[str], info: Dict[str, Any]) -> List[str]:
    """The report a TD reads, one fact a line."""
    lines = [
        "worker command  {}".format(" ".join(command)),
        "genvfx          {}".format(version),
        "protocol        {} (this plugin speaks {})".format(info.get("protocol"), PROTOCOL),
        "device          {} ({}): {}".format(
            info.get("device"), info.get("dtype"), info.get("device_reason", "")
        ),
        "ocio config     {} from {}".format(info.get("ocio_config"), info.get("ocio_source")),
    ]
    versions = info.get("versions")
    if isinstance(versions, dict):
        lines += [
            "{:15} {}".format(name, value) for name, value in versions.items() if name != "genvfx"
        ]
    models = info.get("models") or []
    lines.append("models          {}".format(len(models)))
    lines += ["  {}".format(model) for model in models]
    return lines


def run_check(timeout: float = INFO_TIMEOUT) -> "tuple[bool, List[str]]":
    """(works, report lines): start the worker as the node would and ask what it can run."""
    try:
        command = worker_command()
        client = WorkerClient(command)
        client.start()
    except WorkerError as exc:
        return False, ["FAILED: {}".format(exc)]
    try:
        info = client.info(timeout)
    except WorkerError as exc:
        return False, [
            "FAILED: the worker started (genvfx {}) but {}; its log is {}".format(
                client.version, exc, client.stderr_log
            )
        ]
    finally:
        client.shutdown()
    return True, [*report_lines(command, client.version, info), "OK: genvfx works from here"]


def main() -> int:
    works, lines = run_check()
    stream = sys.stdout if works else sys.stderr
    for line in lines:
        print(line, file=stream)
    return 0 if works else 1


if __name__ == "__main__":
    sys.exit(main())
