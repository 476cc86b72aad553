"""A client for `genvfx worker`: start it, send jobs, route its events to each job's queue.

The worker is a subprocess speaking JSON lines (see docs/worker-protocol.md). Its stderr
goes to a log file, never to a pipe nobody reads. When it dies, every job still waiting
gets an `error` event saying so, and the next `shared_client()` starts a fresh one.

A worker from another genvfx release may speak another protocol: `start()` exchanges the
protocol version first, so a mismatch is one clear message rather than jobs that fail in
ways nobody can explain.
"""

import json
import os
import queue
import shlex
import subprocess
import threading
import uuid
from typing import Any, Dict, List, Optional

from genvfx_nuke.logs import log_dir, logger

DEFAULT_COMMAND = "genvfx worker"
TERMINAL = ("done", "error", "cancelled")

PROTOCOL = 1
"""The worker protocol this plugin speaks: genvfx's `genvfx.worker.protocol.PROTOCOL`, which
it cannot import; a test holds the two equal."""

HELLO_TIMEOUT = 60.0
"""Seconds a starting worker has to answer hello: its first start may import for a while."""


class WorkerError(RuntimeError):
    """The worker cannot be started or reached."""


def worker_command() -> List[str]:
    """`GENVFX_WORKER` split like a shell would, else `genvfx worker`."""
    text = os.environ.get("GENVFX_WORKER", "").strip() or DEFAULT_COMMAND
    try:
        command = shlex.split(text)
    except ValueError as exc:
        raise WorkerError(
            "GENVFX_WORKER={!r} cannot be split into a command: {}".format(text, exc)
        ) from None
    if not command:
        raise WorkerError("GENVFX_WORKER is empty")
    return command


class JobHandle:
    """One submitted job: its id and the events the worker sends for it."""

    def __init__(self, job_id: str, client: "WorkerClient") -> None:
        self.id = job_id
        self.client = client
        self.events: "queue.Queue[Dict[str, Any]]" = queue.Queue()

    def cancel(self) -> None:
        """Ask the worker that runs this job to stop it after the current step."""
        self.client.cancel(self.id)

    def next_event(self, timeout: float) -> Optional[Dict[str, Any]]:
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            return None


class WorkerClient:
    """One worker process and the jobs sent to it."""

    def __init__(self, command: List[str]) -> None:
        self.command = command
        self.stderr_log = os.path.join(log_dir(), "worker-stderr.log")
        self._lock = threading.Lock()
        self._handles: Dict[str, JobHandle] = {}
        self._process: Optional["subprocess.Popen[str]"] = None
        self._reader: Optional[threading.Thread] = None

    @property
    def pid(self) -> Optional[int]:
        return self._process.pid if self._process else None

    def start(self, timeout: float = HELLO_TIMEOUT) -> None:
        """Start the process and check that it speaks this plugin's protocol.

        The process runs in its own session, so a Ctrl-C in Nuke's terminal does not kill it
        mid-job; it still exits with Nuke, when its stdin closes. A worker that speaks
        another protocol, or does not answer within `timeout` seconds, is shut down and
        `WorkerError` raised.
        """
        env = dict(os.environ)
        env.setdefault("GENVFX_LOG_DIR", log_dir())
        env["PYTHONUNBUFFERED"] = "1"
        try:
            stderr = open(self.stderr_log, "a", encoding="utf-8")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise WorkerError(
                "cannot open the worker log {}: {}".format(self.stderr_log, exc)
            ) from None
        try:
            self._process = subprocess.Popen(
                self.command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                encoding="utf-8",
                bufsize=1,
                env=env,
                start_new_session=os.name == "posix",
            )
        except OSError as exc:
            raise WorkerError(
                "cannot start the genvfx worker `{}`: {}. Install genvfx, or set GENVFX_WORKER "
                "to the command that runs `genvfx worker`.".format(
                    " ".join(self.command), exc.strerror or exc
                )
            ) from None
        finally:
            stderr.close()
        logger().info("started worker pid %s: %s", self._process.pid, self.command)
        self._reader = threading.Thread(target=self._read, name="genvfx-worker-reader", daemon=True)
        self._reader.start()
        try:
            self._hello(timeout)
        except WorkerError:
            self.shutdown()
            raise

    def _hello(self, timeout: float) -> None:
        """Send hello and wait for the worker's answer; `WorkerError` unless it matches."""
        handle = JobHandle("hello-" + uuid.uuid4().hex[:12], self)
        with self._lock:
            self._handles[handle.id] = handle
        try:
            self._send({"id": handle.id, "op": "hello", "protocol": PROTOCOL})
            reply = handle.next_event(timeout)
        finally:
            with self._lock:
                self._handles.pop(handle.id, None)
        if reply is None:
            raise WorkerError(
                "the genvfx worker `{}` did not answer within {:g} s of starting; its log is "
                "{}".format(" ".join(self.command), timeout, self.stderr_log)
            )
        kind = reply.get("event")
        if kind == "hello" and reply.get("protocol") == PROTOCOL:
            logger().info(
                "worker pid %s: genvfx %s, protocol %s", self.pid, reply.get("version"), PROTOCOL
            )
            return
        if kind == "hello":
            raise WorkerError(
                "protocol: this host speaks genvfx worker protocol {}, the worker (genvfx {}) "
                "speaks protocol {}; install matching versions of genvfx and its Nuke "
                "plugin".format(PROTOCOL, reply.get("version"), reply.get("protocol"))
            )
        if kind == "error" and reply.get("kind") == "request":
            raise WorkerError(
                "protocol: this host speaks genvfx worker protocol {}, the worker `{}` predates "
                "protocol versions ({}); install matching versions of genvfx and its Nuke "
                "plugin".format(PROTOCOL, " ".join(self.command), reply.get("message"))
            )
        raise WorkerError(
            str(reply.get("message") or "the genvfx worker answered {}".format(reply))
        )

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def submit(
        self, job: Dict[str, Any], script_colour: Optional[Dict[str, str]] = None
    ) -> JobHandle:
        """Send a job; `script_colour` holds the Root's colour knobs for the worker to read."""
        handle = JobHandle(uuid.uuid4().hex[:12], self)
        with self._lock:
            self._handles[handle.id] = handle
        message: Dict[str, Any] = {"id": handle.id, "op": "generate", "job": job}
        if script_colour is not None:
            message["script_colour"] = script_colour
        try:
            self._send(message)
        except WorkerError:
            with self._lock:
                self._handles.pop(handle.id, None)
            raise
        return handle

    def cancel(self, job_id: str) -> None:
        try:
            self._send({"id": job_id, "op": "cancel"})
        except WorkerError:
            logger().warning("cancel %s: the worker is gone", job_id)

    def shutdown(self, timeout: float = 5.0) -> None:
        process = self._process
        if process is None:
            return
        try:
            if process.stdin:
                process.stdin.close()
            process.wait(timeout)
        except (OSError, subprocess.TimeoutExpired):
            process.kill()
            process.wait()

    def _send(self, message: Dict[str, Any]) -> None:
        process = self._process
        if process is None or process.stdin is None or process.poll() is not None:
            raise WorkerError("the genvfx worker is not running")
        line = json.dumps(message, ensure_ascii=False)
        with self._lock:
            try:
                process.stdin.write(line + "\n")
                process.stdin.flush()
            except (OSError, ValueError) as exc:
                raise WorkerError(
                    "the genvfx worker stopped accepting jobs: {}".format(exc)
                ) from None

    def _read(self) -> None:
        process = self._process
        assert process is not None and process.stdout is not None
        for line in process.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                logger().warning("worker said something that is not JSON: %r", line[:200])
                continue
            if not isinstance(event, dict):
                continue
            job_id = event.get("id")
            with self._lock:
                handle = self._handles.get(job_id) if isinstance(job_id, str) else None
                if handle is not None and event.get("event") in TERMINAL:
                    self._handles.pop(handle.id, None)
            if handle is None:
                logger().warning("worker event for no job: %s", line.strip()[:300])
            else:
                handle.events.put(event)
        code = process.wait()
        logger().warning("worker pid %s exited with code %s", process.pid, code)
        with self._lock:
            orphans = list(self._handles.values())
            self._handles.clear()
        for handle in orphans:
            handle.events.put(
                {
                    "id": handle.id,
                    "event": "error",
                    "message": "the genvfx worker stopped unexpectedly (exit code {}); its log is {}. "
                    "Press Generate to start it again.".format(code, self.stderr_log),
                    "kind": "worker",
                }
            )


_shared: Optional[WorkerClient] = None
_shared_lock = threading.Lock()


def shared_client() -> WorkerClient:
    """The session's worker, started (or restarted after it died) on demand."""
    global _shared
    with _shared_lock:
        if _shared is None or not _shared.alive():
            client = WorkerClient(worker_command())
            client.start()
            _shared = client
        return _shared


def shutdown_shared() -> None:
    global _shared
    with _shared_lock:
        if _shared is not None:
            _shared.shutdown()
            _shared = None
