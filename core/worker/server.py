"""The long-lived worker: JSON lines in on stdin, JSON lines out on stdout.

Hosts (the Nuke node, a pipeline tool) keep one worker per session so loaded pipelines
stay warm between jobs. The protocol is documented in `docs/worker-protocol.md`.

Any line gets an answer and the worker keeps serving: requests are read as bytes (text
that is not UTF-8 is refused, not fatal), a line may be at most `MAX_LINE` bytes, JSON
nested deeper than `MAX_DEPTH` is refused, every event is written as ASCII JSON (so no
value can make a write fail), and an unexpected error in one request is an `internal`
error event for that request.

Threads: the main thread reads requests (so `cancel` is seen while a job runs); one runner
thread runs jobs one at a time from a queue. Only `Channel.send` writes to the protocol
stream, and the process's own stdout (fd 1) is pointed at stderr so that nothing a library
prints can corrupt the protocol.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO, TextIO

from .. import __version__
from ..errors import Cancelled, GenvfxError, InvalidField, InvalidInput, shown
from ..events import CancelToken, Done, Event, event_dict
from ..job import GenerationJob, parse_json
from ..pipeline.inference import PipelineCache
from ..scripts.colour import check_root_knobs, colour_fields, root_colour
from .protocol import (
    ACCEPTED,
    CANCEL,
    CANCELLED,
    DONE,
    ERROR,
    FRAME,
    GENERATE,
    HELLO,
    INFO,
    INTERNAL_ERROR,
    INVALID_ERROR,
    OPS,
    PROGRESS,
    PROTOCOL,
    PROTOCOL_ERROR,
    REQUEST_ERROR,
    RUNTIME_ERROR,
    SHUTDOWN,
    STAGE,
    mismatch_message,
)

LOG = logging.getLogger("genvfx.worker")
FORWARDED = (STAGE, PROGRESS, FRAME)
MAX_LINE = 16 * 1024 * 1024
"""The longest request line, in bytes; a longer one is refused (and skipped to its end)."""

RequestId = str | int
Runner = Callable[[GenerationJob, Callable[[Event], None], CancelToken, PipelineCache], Done]


@dataclass
class Request:
    """One accepted generate request, queued or running."""

    id: RequestId
    job: GenerationJob
    cancel: CancelToken = field(default_factory=CancelToken)


class Channel:
    """The protocol stream: one JSON object per line, written whole under a lock."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self.broken = False

    def send(self, request_id: RequestId | None, event: str, **fields: Any) -> None:
        message = {"id": request_id, "event": event, **fields}
        line = json.dumps(message, ensure_ascii=True, default=str)
        with self._lock:
            if self.broken:
                return
            try:
                self._stream.write(line + "\n")
                self._stream.flush()
            except (BrokenPipeError, OSError, ValueError):
                self.broken = True
                LOG.warning("the host closed the protocol stream")
        if event != PROGRESS:
            LOG.info("-> %s", line[:500])


def request_job(message: dict[str, Any]) -> GenerationJob:
    """The job of a generate request, its colour filled from the script's Root knobs.

    A host inside Nuke sends the Root's colour knobs (`script_colour`) rather than
    deciding itself what they mean: `scripts.colour` is the one reader of them. Fields the
    job sets itself win.
    """
    data = message.get("job")
    if not isinstance(data, dict):
        raise InvalidField("job", type(data).__name__, "a JSON object")
    if message.get("script_colour") is not None:
        knobs = check_root_knobs(message["script_colour"])
        data = {**colour_fields(root_colour(knobs)), **data}
    return GenerationJob.from_dict(data)


def engine_runner(
    job: GenerationJob,
    on_event: Callable[[Event], None],
    cancel: CancelToken,
    cache: PipelineCache,
) -> Done:
    from ..pipeline.engine import generate

    return generate(job, on_event=on_event, cancel=cancel, cache=cache)


class Worker:
    """Reads requests, queues generate jobs, runs them one at a time on a runner thread."""

    def __init__(
        self,
        channel: Channel,
        runner: Runner = engine_runner,
        cache: PipelineCache | None = None,
    ) -> None:
        self.channel = channel
        self.runner = runner
        self.cache = cache or PipelineCache()
        self._queue: queue.Queue[Request | None] = queue.Queue()
        self._lock = threading.Lock()
        self._pending: dict[RequestId, Request] = {}
        self._thread = threading.Thread(target=self._run_jobs, name="genvfx-job", daemon=True)

    def serve(self, requests: BinaryIO) -> int:
        """Answer requests until stdin closes or a shutdown arrives; 0 when all went to plan."""
        self.start()
        LOG.info("worker %s (protocol %d) ready (pid %d)", __version__, PROTOCOL, os.getpid())
        try:
            while True:
                line = requests.readline(MAX_LINE + 1)
                if not line:
                    LOG.info("stdin closed")
                    break
                if len(line) > MAX_LINE and not line.endswith(b"\n"):
                    self._skip_rest(requests)
                    self._refuse(None, f"request: a line longer than {MAX_LINE} bytes")
                    continue
                if line.strip() and (not self.handle_line(line) or self.channel.broken):
                    break
        finally:
            self.stop()
        return 0

    @staticmethod
    def _skip_rest(requests: BinaryIO) -> None:
        while True:
            part = requests.readline(MAX_LINE)
            if not part or part.endswith(b"\n"):
                return

    def start(self) -> None:
        """Start the runner thread (serve does; a host driving handle_line itself must)."""
        self._thread.start()

    def handle_line(self, line: str | bytes) -> bool:
        """Handle one request line; False when the worker should stop.

        Whatever the line holds, it is answered: an error this code did not foresee becomes
        an `internal` error event (traceback in the log), and the worker keeps serving.
        """
        try:
            return self._handle(line)
        except Exception as exc:
            LOG.error("request crashed:\n%s", traceback.format_exc())
            self.channel.send(
                None,
                ERROR,
                message=f"internal error: {type(exc).__name__}: {shown(str(exc))} "
                "(traceback in the worker log)",
                kind=INTERNAL_ERROR,
            )
            return True

    def _handle(self, line: str | bytes) -> bool:
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError as exc:
                self._refuse(None, f"request: not UTF-8 text (byte {exc.start}: {exc.reason})")
                return True
        try:
            message = parse_json(line, "request")
        except InvalidField as exc:
            self._refuse(None, f"request: not {exc.allowed}")
            return True
        if not isinstance(message, dict):
            self._refuse(None, "request: expected a JSON object")
            return True
        request_id = message.get("id")
        op = message.get("op")
        if request_id is not None and (
            isinstance(request_id, bool) or not isinstance(request_id, (str, int))
        ):
            self._refuse(None, "id: expected a string or an integer")
            return True
        if op == HELLO:
            self._hello(request_id, message)
        elif op == INFO:
            self._info(request_id)
        elif op == GENERATE:
            self._generate(request_id, message)
        elif op == CANCEL:
            self._cancel(request_id)
        elif op == SHUTDOWN:
            LOG.info("shutdown requested")
            return False
        else:
            self._refuse(
                request_id,
                f"op: {shown(op)} is not an operation; expected {', '.join(OPS[:-1])} or {OPS[-1]}",
            )
        return True

    def _refuse(self, request_id: RequestId | None, message: str) -> None:
        """Answer a request that cannot be served as sent."""
        self.channel.send(request_id, ERROR, message=message, kind=REQUEST_ERROR)

    def stop(self) -> None:
        """Cancel queued and running jobs, then wait for the runner thread to finish."""
        with self._lock:
            pending = list(self._pending.values())
        for request in pending:
            request.cancel.cancel()
        self._queue.put(None)
        self._thread.join()

    def _hello(self, request_id: RequestId | None, message: dict[str, Any]) -> None:
        """Answer with this worker's protocol and version, or refuse a host that speaks another."""
        theirs = message.get("protocol")
        if isinstance(theirs, bool) or not isinstance(theirs, int):
            self._refuse(
                request_id,
                "protocol: a hello request needs the host's protocol version, an integer",
            )
            return
        if theirs != PROTOCOL:
            LOG.error(
                "hello from a host speaking protocol %d; this worker speaks %d", theirs, PROTOCOL
            )
            self.channel.send(
                request_id,
                ERROR,
                message=mismatch_message(theirs, PROTOCOL, __version__),
                kind=PROTOCOL_ERROR,
            )
            return
        self.channel.send(request_id, HELLO, protocol=PROTOCOL, version=__version__)

    def _info(self, request_id: RequestId | None) -> None:
        """Answer with what this install can run (`install_info.collect`), for a self-check."""
        from .install_info import collect

        try:
            report = collect()
        except Exception as exc:
            LOG.error("info failed:\n%s", traceback.format_exc())
            self.channel.send(
                request_id, ERROR, message=f"info: {type(exc).__name__}: {exc}", kind=RUNTIME_ERROR
            )
            return
        self.channel.send(request_id, INFO, protocol=PROTOCOL, **report)

    def _generate(self, request_id: RequestId | None, message: dict[str, Any]) -> None:
        if request_id is None:
            self._refuse(None, "id: a generate request needs an id")
            return
        try:
            job = request_job(message)
        except InvalidField as exc:
            self.channel.send(
                request_id, ERROR, message=str(exc), kind=INVALID_ERROR, field=exc.field
            )
            return
        except InvalidInput as exc:
            self.channel.send(request_id, ERROR, message=str(exc), kind=INVALID_ERROR)
            return
        with self._lock:
            if request_id in self._pending:
                self._refuse(request_id, f"id: {shown(request_id)} is already queued or running")
                return
            ahead = len(self._pending)
            request = Request(request_id, job)
            self._pending[request_id] = request
            self.channel.send(request_id, ACCEPTED, queued=ahead, name=job.name)
        self._queue.put(request)

    def _cancel(self, request_id: RequestId | None) -> None:
        with self._lock:
            request = self._pending.get(request_id) if request_id is not None else None
        if request is None:
            self._refuse(request_id, f"cancel: no queued or running job has id {shown(request_id)}")
            return
        LOG.info("cancel %r", request_id)
        request.cancel.cancel()

    def _run_jobs(self) -> None:
        while True:
            request = self._queue.get()
            if request is None:
                return
            try:
                self._run_one(request)
            finally:
                with self._lock:
                    self._pending.pop(request.id, None)

    def _run_one(self, request: Request) -> None:
        if request.cancel.cancelled:
            self.channel.send(request.id, CANCELLED, message="cancelled before it started")
            return

        def on_event(event: Event) -> None:
            data = event_dict(event)
            kind = data.pop("event")
            if kind in FORWARDED:
                self.channel.send(request.id, kind, **data)

        LOG.info(
            "job %r: %s, %s into %s",
            request.id,
            request.job.model,
            request.job.name,
            request.job.output_root,
        )
        try:
            done = self.runner(request.job, on_event, request.cancel, self.cache)
        except Cancelled as exc:
            self.channel.send(request.id, CANCELLED, message=str(exc))
        except InvalidInput as exc:
            LOG.error("job %r refused: %s", request.id, exc)
            field = {"field": exc.field} if isinstance(exc, InvalidField) else {}
            self.channel.send(request.id, ERROR, message=str(exc), kind=INVALID_ERROR, **field)
        except GenvfxError as exc:
            LOG.error("job %r failed:\n%s", request.id, traceback.format_exc())
            self.channel.send(request.id, ERROR, message=str(exc), kind=RUNTIME_ERROR)
        except Exception as exc:
            LOG.error("job %r crashed:\n%s", request.id, traceback.format_exc())
            self.channel.send(
                request.id,
                ERROR,
                message=f"internal error: {type(exc).__name__}: {exc} (traceback in the worker log)",
                kind=INTERNAL_ERROR,
            )
        else:
            data = event_dict(done)
            data.pop("event")
            self.channel.send(request.id, DONE, **data)


def protocol_stream() -> TextIO:
    """Take over stdout for the protocol; fd 1 then points at stderr for everything else."""
    sys.stdout.flush()
    private = os.dup(sys.stdout.fileno())
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    return os.fdopen(private, "w", encoding="utf-8", buffering=1)


def configure_logging(log_file: str | None) -> str | None:
    """Log to stderr and, when it can be opened, a file; returns the file used."""
    root = logging.getLogger("genvfx")
    root.setLevel(logging.INFO)
    formatter = logging.Formatter("%(asctime)s %(process)d %(levelname)s %(message)s")
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(formatter)
    root.addHandler(stream)
    if log_file is None:
        return None
    try:
        os.makedirs(os.path.dirname(os.path.abspath(log_file)), exist_ok=True)
        handler = logging.FileHandler(log_file, encoding="utf-8", errors="backslashreplace")
    except OSError as exc:
        root.warning("cannot open log file %s: %s", log_file, exc)
        return None
    handler.setFormatter(formatter)
    root.addHandler(handler)
    return log_file
