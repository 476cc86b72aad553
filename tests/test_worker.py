"""`genvfx worker` over a real subprocess on the tiny built-in LTX model."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import genvfx
from genvfx.worker.protocol import PROTOCOL

TIMEOUT = 120.0


def tiny_job(root: Path, steps: int = 2, **changes: Any) -> dict[str, Any]:
    job: dict[str, Any] = {
        "prompt": "a dust plume",
        "model": "builtin:tiny-ltx",
        "frames": "1001-1009",
        "format": "64x64",
        "steps": steps,
        "seed": 7,
        "output_root": str(root),
        "name": "element",
    }
    job.update(changes)
    return job


class WorkerProcess:
    """A worker subprocess with its stdout read on a thread into a queue."""

    def __init__(self, log_dir: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "genvfx", "worker", "--log-file", str(log_dir / "worker.log")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=open(log_dir / "stderr.log", "w"),  # noqa: SIM115
            text=True,
            bufsize=1,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.raw: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.raw.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def send(self, message: dict[str, Any] | str) -> None:
        assert self.process.stdin is not None
        text = message if isinstance(message, str) else json.dumps(message)
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()

    def next(self) -> dict[str, Any]:
        line = self.lines.get(timeout=TIMEOUT)
        assert line is not None, "the worker closed stdout"
        event = json.loads(line)
        assert isinstance(event, dict)
        return event

    def until(
        self, request_id: Any, kinds: tuple[str, ...]
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Events up to the first of `kinds` for `request_id` (others are kept, in order)."""
        seen = []
        while True:
            event = self.next()
            seen.append(event)
            if event.get("id") == request_id and event["event"] in kinds:
                return event, seen

    def close(self) -> int:
        assert self.process.stdin is not None
        self.process.stdin.close()
        return self.process.wait(timeout=TIMEOUT)


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    process = WorkerProcess(tmp_path_factory.mktemp("worker-logs"))
    yield process
    if process.process.poll() is None:
        process.close()


def complete_takes(root: Path, name: str = "element") -> list[str]:
    found = []
    for manifest in sorted((root / name).glob("v*/manifest.json")):
        if json.loads(manifest.read_text()).get("complete") is True:
            found.append(manifest.parent.name)
    return found


def test_generate_twice_loads_the_model_once(worker: WorkerProcess, tmp_path: Path) -> None:
    worker.send({"id": "a", "op": "generate", "job": tiny_job(tmp_path)})
    worker.send({"id": "b", "op": "generate", "job": tiny_job(tmp_path)})
    first, seen = worker.until("a", ("done", "error", "cancelled"))
    assert first["event"] == "done", first
    accepted = [e for e in seen if e["event"] == "accepted"]
    assert [(e["id"], e["queued"]) for e in accepted] == [("a", 0), ("b", 1)]
    progress = [e for e in seen if e["event"] == "progress" and e["id"] == "a"]
    assert progress[0] == {
        "id": "a",
        "event": "progress",
        "step": 1,
        "total_steps": 2,
        "frames_done": 0,
        "frames_total": 9,
    }
    assert progress[-1]["frames_done"] == 9
    frames = [e for e in seen if e["event"] == "frame" and e["id"] == "a"]
    assert [e["frame"] for e in frames] == list(range(1001, 1010))
    assert [e["path"] for e in frames] == first["frames"]
    assert first["model_loaded"] is True
    assert first["version"] == "v001"
    assert len(first["frames"]) == 9 and all(Path(p).is_file() for p in first["frames"])
    second, seen_b = worker.until("b", ("done", "error", "cancelled"))
    assert second["event"] == "done", second
    assert second["model_loaded"] is False
    assert second["version"] == "v002"
    assert not [e for e in seen_b if e.get("id") == "a"], "job a sent events after done"
    assert complete_takes(tmp_path) == ["v001", "v002"]


def test_cancel_mid_run_leaves_no_complete_take(worker: WorkerProcess, tmp_path: Path) -> None:
    worker.send({"id": 41, "op": "generate", "job": tiny_job(tmp_path, steps=1000)})
    first, _ = worker.until(41, ("progress",))
    worker.send({"id": 41, "op": "cancel"})
    end, seen = worker.until(41, ("done", "error", "cancelled"))
    assert end["event"] == "cancelled", end
    # The cancel may land before the next step reports: count the step it followed too.
    steps = [first["step"]] + [e["step"] for e in seen if e["event"] == "progress"]
    assert steps and max(steps) < 1000
    assert complete_takes(tmp_path) == []
    manifest = json.loads((tmp_path / "element" / "v001" / "manifest.json").read_text())
    assert manifest["status"] == "cancelled"
    assert not list((tmp_path / "element" / "v001").glob("*.exr"))


def test_bad_requests_get_errors_and_the_worker_keeps_serving(
    worker: WorkerProcess, tmp_path: Path
) -> None:
    worker.send("this is not json")
    event = worker.next()
    assert (event["id"], event["event"]) == (None, "error")
    assert "not valid JSON" in event["message"]
    worker.send({"id": "x", "op": "explode"})
    event = worker.next()
    assert (event["id"], event["event"]) == ("x", "error")
    assert "'explode'" in event["message"] and "generate, cancel or shutdown" in event["message"]
    worker.send({"id": "y", "op": "generate", "job": tiny_job(tmp_path, steps=0)})
    event = worker.next()
    assert (event["id"], event["event"], event["field"], event["kind"]) == (
        "y",
        "error",
        "steps",
        "invalid",
    )
    assert "steps: 0 is not allowed" in event["message"]
    worker.send({"id": "z", "op": "cancel"})
    event = worker.next()
    assert (event["id"], event["event"], event["kind"]) == ("z", "error", "request")
    worker.send({"op": "generate", "job": tiny_job(tmp_path)})
    event = worker.next()
    assert (event["id"], event["event"]) == (None, "error") and "needs an id" in event["message"]
    worker.send({"id": "m", "op": "generate", "job": tiny_job(tmp_path, model="/no/such/model")})
    end, _ = worker.until("m", ("done", "error", "cancelled"))
    assert end["event"] == "error" and "/no/such/model" in end["message"]
    assert end["kind"] == "invalid"
    assert not (tmp_path / "element").exists()
    worker.send({"id": "ok", "op": "generate", "job": tiny_job(tmp_path)})
    end, _ = worker.until("ok", ("done", "error", "cancelled"))
    assert end["event"] == "done" and end["model_loaded"] is False


def test_hello_in_the_same_protocol_is_answered_with_the_version(worker: WorkerProcess) -> None:
    worker.send({"id": "h1", "op": "hello", "protocol": PROTOCOL})
    assert worker.next() == {
        "id": "h1",
        "event": "hello",
        "protocol": PROTOCOL,
        "version": genvfx.__version__,
    }


def test_hello_in_another_protocol_is_refused_naming_both(worker: WorkerProcess) -> None:
    worker.send({"id": "h2", "op": "hello", "protocol": PROTOCOL + 1})
    event = worker.next()
    assert (event["id"], event["event"], event["kind"]) == ("h2", "error", "protocol")
    assert event["message"] == (
        f"protocol: this host speaks genvfx worker protocol {PROTOCOL + 1}, the worker "
        f"(genvfx {genvfx.__version__}) speaks protocol {PROTOCOL}; install matching versions "
        "of genvfx and its Nuke plugin"
    )
    worker.send({"id": "h3", "op": "hello", "protocol": str(PROTOCOL)})
    event = worker.next()
    assert (event["id"], event["event"], event["kind"]) == ("h3", "error", "request")
    assert "an integer" in event["message"]
    worker.send({"op": "hello", "protocol": PROTOCOL})
    assert worker.next()["event"] == "hello", "the worker keeps serving after a refusal"


def test_only_protocol_lines_on_stdout(worker: WorkerProcess) -> None:
    assert worker.raw, "the other tests should have produced events"
    for line in worker.raw:
        event = json.loads(line)
        assert {"id", "event"} <= set(event)


def test_exits_when_stdin_closes_and_logs_to_a_file(tmp_path: Path) -> None:
    process = WorkerProcess(tmp_path)
    process.send({"id": 1, "op": "frob"})
    assert process.next()["event"] == "error"
    assert process.close() == 0
    log = (tmp_path / "worker.log").read_text()
    assert "stdin closed" in log and "'frob'" in log


def test_shutdown_cancels_the_running_job(tmp_path: Path) -> None:
    process = WorkerProcess(tmp_path)
    process.send({"id": "long", "op": "generate", "job": tiny_job(tmp_path / "out", steps=1000)})
    process.until("long", ("progress",))
    process.send({"op": "shutdown"})
    end, _ = process.until("long", ("done", "error", "cancelled"))
    assert end["event"] == "cancelled"
    assert process.process.wait(timeout=TIMEOUT) == 0


class Blocking:
    """A runner that holds each job until it is cancelled: the queue logic without a model."""

    def __init__(self) -> None:
        self.started: queue.Queue[str] = queue.Queue()

    def __call__(self, job: Any, on_event: Any, cancel: Any, cache: Any) -> Any:
        from genvfx.errors import Cancelled

        self.started.put(job.name)
        while not cancel.cancelled:
            threading.Event().wait(0.01)
        raise Cancelled("cancelled after step 1 of 2")


def test_queued_jobs_wait_and_a_queued_cancel_never_starts(tmp_path: Path) -> None:
    import io

    from genvfx.worker.server import Channel, Worker

    out = io.StringIO()
    runner = Blocking()
    worker = Worker(Channel(out), runner=runner)
    requests = [
        {"id": "one", "op": "generate", "job": tiny_job(tmp_path, name="one")},
        {"id": "two", "op": "generate", "job": tiny_job(tmp_path, name="two")},
        {"id": "two", "op": "generate", "job": tiny_job(tmp_path, name="two")},
    ]
    worker.start()
    for request in requests:
        assert worker.handle_line(json.dumps(request))
    assert runner.started.get(timeout=10) == "one"
    assert worker.handle_line(json.dumps({"id": "two", "op": "cancel"}))
    assert worker.handle_line(json.dumps({"id": "one", "op": "cancel"}))
    assert not worker.handle_line(json.dumps({"op": "shutdown"}))
    worker.stop()
    assert runner.started.empty(), "a cancelled queued job started"
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(e["id"], e["event"]) for e in events] == [
        ("one", "accepted"),
        ("two", "accepted"),
        ("two", "error"),
        ("one", "cancelled"),
        ("two", "cancelled"),
    ]
    assert "already queued or running" in events[2]["message"]
    assert events[4]["message"] == "cancelled before it started"


def test_the_nuke_plugin_speaks_the_engines_protocol() -> None:
    from genvfx_nuke import worker_client

    assert worker_client.PROTOCOL == PROTOCOL


@pytest.fixture
def client_logs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GENVFX_LOG_DIR", str(tmp_path))
    return tmp_path


WORKER = [sys.executable, "-m", "genvfx", "worker"]


def test_the_nuke_client_starts_a_worker_of_its_protocol(client_logs: Path) -> None:
    from genvfx_nuke.worker_client import WorkerClient

    client = WorkerClient(WORKER)
    client.start()
    try:
        assert client.alive()
        assert (
            f"genvfx {genvfx.__version__}, protocol {PROTOCOL}"
            in (client_logs / "nuke.log").read_text()
        )
    finally:
        client.shutdown()


def test_the_nuke_client_refuses_a_worker_of_another_protocol(
    client_logs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from genvfx_nuke import worker_client

    monkeypatch.setattr(worker_client, "PROTOCOL", PROTOCOL + 1)
    client = worker_client.WorkerClient(WORKER)
    with pytest.raises(worker_client.WorkerError) as caught:
        client.start()
    message = str(caught.value)
    assert f"this host speaks genvfx worker protocol {PROTOCOL + 1}" in message
    assert f"(genvfx {genvfx.__version__}) speaks protocol {PROTOCOL}" in message
    assert not client.alive(), "the mismatched worker was left running"


def test_the_nuke_client_gives_up_on_a_worker_that_never_answers(client_logs: Path) -> None:
    from genvfx_nuke.worker_client import WorkerClient, WorkerError

    silent = [sys.executable, "-c", "import sys\nfor line in sys.stdin: pass"]
    client = WorkerClient(silent)
    with pytest.raises(WorkerError, match=r"did not answer within 0\.5 s"):
        client.start(timeout=0.5)
    assert not client.alive()


def test_the_nuke_client_names_its_protocol_to_a_worker_without_hello(client_logs: Path) -> None:
    """A worker from before protocol versions refuses hello as an unknown op."""
    from genvfx_nuke.worker_client import WorkerClient, WorkerError

    old = (
        "import json, sys\n"
        "for line in sys.stdin:\n"
        "    op = json.loads(line)['op']\n"
        "    print(json.dumps({'id': json.loads(line).get('id'), 'event': 'error', 'kind': "
        "'request', 'message': f'op: {op!r} is not an operation'}), flush=True)\n"
    )
    client = WorkerClient([sys.executable, "-c", old])
    with pytest.raises(WorkerError) as caught:
        client.start()
    message = str(caught.value)
    assert f"this host speaks genvfx worker protocol {PROTOCOL}" in message
    assert "predates protocol versions (op: 'hello' is not an operation)" in message
    assert not client.alive()
