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


SCRUBBED = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "PYTHONEXECUTABLE")
"""Variables through which Nuke's or a launcher's Python would shadow the worker's own."""

CREATE_NO_WINDOW = 0x08000000
"""Windows process flag: no console window (closing one would kill the worker)."""


def worker_command(text: Optional[str] = None, windows: Optional[bool] = None) -> List[str]:
    """`GENVFX_WORKER` split into a command, else `genvfx worker`.

    On Windows the text is split as cmd.exe does, so backslashes stay
    (`C:\\venvs\\genvfx\\Scripts\\genvfx.exe worker`) and double quotes group a path with spaces;
    elsewhere it is split like a POSIX shell would.
    """
    if text is None:
        text = os.environ.get("GENVFX_WORKER", "")
    text = text.strip() or DEFAULT_COMMAND
    if windows is None:
        windows = os.name == "nt"
    try:
        command = _split_windows(text) if windows else shlex.split(text)
    except ValueError as exc:
        raise WorkerError(
            "GENVFX_WORKER={!r} cannot be split into a command: {}".format(text, exc)
        ) from None
    if not command:
        raise WorkerError("GENVFX_WORKER is empty")
    return command


def _split_windows(text: str) -> List[str]:
    """Words separated by spaces; double quotes group, backslashes are ordinary characters."""
    words: List[str] = []
    current: List[str] = []
    quoted = False
    started = False
    for char in text:
        if char == '"':
            quoted = not quoted
            started = True
        elif char in " \t" and not quoted:
            if started:
                words.append("".join(current))
                current, started = [], False
        else:
            current.append(char)
            started = True
    if quoted:
        raise ValueError("a double quote is never closed")
    if started:
        words.append("".join(current))
    return words


def worker_environment(environ: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """The worker's environment: the host's, less what would make its Python load another's.

    Studio launchers and Nuke itself export `PYTHONPATH`/`PYTHONHOME` for Nuke's Python;
    inherited, they shadow the worker's own packages (another numpy, another torch). The
    user site is turned off for the same reason.
    """
    env = dict(os.environ if environ is None else environ)
    for name in SCRUBBED:
        env.pop(name, None)
    env["PYTHONNOUSERSITE"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("GENVFX_LOG_DIR", log_dir())
    return env


def popen_options(windows: Optional[bool] = None) -> Dict[str, Any]:
    """How the worker process is started: its own session on POSIX, no console on Windows."""
    if windows is None:
        windows = os.name == "nt"
    if windows:
        return {"creationflags": CREATE_NO_WINDOW}
    return {"start_new_session": True}


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
        self.version: Optional[str] = None
        """genvfx's version, from the worker's hello."""

    @property
    def pid(self) -> Optional[int]:
        return self._process.pid if self._process else None

    def start(self, timeout: float = HELLO_TIMEOUT) -> None:
        """Start the process and check that it speaks this plugin's protocol.

        The process runs in its own session (on Windows, without a console window), so a
        Ctrl-C in Nuke's terminal does not kill it mid-job; it still exits with Nuke, when its
        stdin closes. Its environment is `worker_environment()`. A worker that speaks
        another protocol, or does not answer within `timeout` seconds, is shut down and
        `WorkerError` raised.
        """
        env = worker_environment()
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
                **popen_options(),
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
        reply = self._ask({"op": "hello", "protocol": PROTOCOL}, timeout)
        if reply is None:
            raise WorkerError(
                "the genvfx worker `{}` did not answer within {:g} s of starting; its log is "
                "{}".format(" ".join(self.command), timeout, self.stderr_log)
            )
        kind = reply.get("event")
        if kind == "hello" and reply.get("protocol") == PROTOCOL:
            self.version = str(reply.get("version"))
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

    def info(self, timeout: float = HELLO_TIMEOUT) -> Dict[str, Any]:
        """The worker's `info` answer: version, device, dtype, OCIO config, models."""
        reply = self._ask({"op": "info"}, timeout)
        if reply is None:
            raise WorkerError("the genvfx worker did not answer info within {:g} s".format(timeout))
        if reply.get("event") != "info":
            raise WorkerError(str(reply.get("message") or "the worker answered {}".format(reply)))
        return reply

    def _ask(self, message: Dict[str, Any], timeout: float) -> Optional[Dict[str, Any]]:
        """Send a request that is answered by one event; that event, or None after `timeout`."""
        handle = JobHandle("{}-{}".format(message["op"], uuid.uuid4().hex[:12]), self)
        with self._lock:
            self._handles[handle.id] = handle
        try:
            self._send(dict(message, id=handle.id))
            return handle.next_event(timeout)
        finally:
            with self._lock:
                self._handles.pop(handle.id, None)

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
