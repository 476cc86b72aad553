"""The names and version of the `genvfx worker` protocol (docs/worker-protocol.md).

`PROTOCOL` changes when a request or an event changes in a way a host or worker of the
previous version would misread; a new optional field or a new event kind does not (hosts
ignore what they do not know). The Nuke plugin cannot import genvfx: it keeps its own
copy of the number, which a test holds equal to this one.
"""

from __future__ import annotations

PROTOCOL = 1

# Requests: the `op` of a line on stdin.
HELLO = "hello"
INFO = "info"
GENERATE = "generate"
CANCEL = "cancel"
SHUTDOWN = "shutdown"
OPS = (HELLO, INFO, GENERATE, CANCEL, SHUTDOWN)

# Events: the `event` of a line on stdout (`hello` and `info` answer the ops of those names).
ACCEPTED = "accepted"
STAGE = "stage"
PROGRESS = "progress"
FRAME = "frame"
DONE = "done"
ERROR = "error"
CANCELLED = "cancelled"

# The `kind` of an `error` event.
REQUEST_ERROR = "request"
PROTOCOL_ERROR = "protocol"
INVALID_ERROR = "invalid"
RUNTIME_ERROR = "runtime"
INTERNAL_ERROR = "internal"


def mismatch_message(host: int, worker: int, version: str) -> str:
    """The message for a host whose protocol is not the worker's, naming both."""
    return (
        f"protocol: this host speaks genvfx worker protocol {host}, the worker "
        f"(genvfx {version}) speaks protocol {worker}; install matching versions of genvfx "
        "and its Nuke plugin"
    )
