"""No traceback for any input: generated malformed jobs, CLI runs and worker request lines.

Examples are derandomized and bounded in CI (see the `ci` profile in conftest.py); a longer
developer run: `HYPOTHESIS_PROFILE=dev GENVFX_FUZZ_SCALE=20 pytest tests/test_hostile.py`.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hostile import examples, malformed_jobs, request_lines
from hypothesis import given, settings
from hypothesis import strategies as st

from genvfx.errors import Cancelled, GenvfxError, InvalidInput
from genvfx.job import GenerationJob

ROOT = tempfile.gettempdir() + "/genvfx-hostile"

KILLERS = [
    b'{"id": "\\ud800", "op": "cancel"}',
    b"\xff",
    b"[" * 100_000,
    b'{"id": 1, "op": "generate", "job": {"prompt": "p", "model": "builtin:tiny-ltx", '
    b'"frames": "1-' + b"9" * 5000 + b'", "output_root": "/tmp/x", "name": "n"}}',
    b'{"id": "\xff\xfe", "op": "cancel"}',
]


@settings(max_examples=examples(3000))
@given(malformed_jobs(ROOT))
def test_a_malformed_job_is_refused_naming_a_field_never_a_traceback(data: Any) -> None:
    try:
        job = GenerationJob.from_dict(data)
    except InvalidInput as exc:
        assert str(exc).encode("utf-8")
        assert len(str(exc)) < 2000
        return
    text = job.to_json()
    assert GenerationJob.from_json(text) == job
    assert len(job.job_hash()) == 16


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("prompt", "dust \ud800 plume"),
        ("output_root", 5),
        ("frames", "99999999999999999999"),
        ("frames", "1-" + "9" * 5000),
        ("format", "9" * 5000 + "x1080"),
        pytest.param("seed", 10**5000, id="seed-5000-digits"),
    ],
)
def test_named_malformed_fields_are_refused_by_name(field: str, value: Any) -> None:
    data = {
        "prompt": "a dust plume",
        "model": "builtin:tiny-ltx",
        "frames": "1001-1009",
        "output_root": ROOT,
        "name": "element",
    }
    data[field] = value
    with pytest.raises(InvalidInput) as caught:
        GenerationJob.from_dict(data)
    assert str(caught.value).startswith(f"{field}: ")


def test_job_json_nested_beyond_the_limit_is_refused() -> None:
    with pytest.raises(InvalidInput, match="nested at most"):
        GenerationJob.from_json("[" * 100_000)
    with pytest.raises(InvalidInput, match="nested at most"):
        GenerationJob.from_json('{"prompt": ' + "[" * 500 + "]" * 500 + "}")


@settings(max_examples=examples(150))
@given(
    malformed_jobs(ROOT),
    st.lists(st.sampled_from(["--frames", "--seed", "--out"]), max_size=2),
    st.text(max_size=12),
)
def test_generate_print_job_exits_0_or_2_for_any_job_file(
    data: Any, flags: list[str], flag_value: str
) -> None:
    from genvfx.cli.main import main

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "job.json"
        try:
            path.write_text(json.dumps(data), encoding="utf-8", errors="surrogatepass")
        except ValueError:
            path.write_text('{"frames": ' + "9" * 5000 + "}", encoding="utf-8")
        argv = ["generate", "--job", str(path), "--print-job"]
        for flag in flags:
            argv += [flag, flag_value.replace("\x00", "")]
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code
    assert code in (0, 2)


class Refusing:
    """A runner for the worker that ends every job as cancelled (the engine is not under test)."""

    def __call__(self, job: Any, on_event: Any, cancel: Any, cache: Any) -> Any:
        raise Cancelled("cancelled by the test runner")


def worker_events(lines: list[bytes]) -> tuple[list[dict[str, Any]], list[bool]]:
    from genvfx.worker.server import Channel, Worker

    out = io.StringIO()
    worker = Worker(Channel(out), runner=Refusing())
    worker.start()
    kept = [worker.handle_line(line) for line in lines]
    worker.stop()
    text = out.getvalue()
    assert text.isascii()
    return [json.loads(line) for line in text.splitlines()], kept


@settings(max_examples=examples(1000))
@given(request_lines(ROOT))
def test_any_request_line_is_answered_and_the_worker_keeps_serving(line: bytes) -> None:
    hello = b'{"id": "next", "op": "hello", "protocol": 1}'
    events, kept = worker_events([line, hello])
    assert kept == [True, True] or (b"shutdown" in line and not kept[0])
    assert all(e.get("kind") != "internal" for e in events), events
    assert events[-1]["id"] == "next" or any(e["id"] == "next" for e in events)
    assert len([e for e in events if e["id"] != "next"]) >= 1


def test_the_five_worker_killing_lines_each_get_an_error_and_the_worker_answers_on() -> None:
    """The real worker process, fed over a pipe, as a host would."""
    hello = b'{"id": "next", "op": "hello", "protocol": 1}\n'
    stdin = b"".join(line + b"\n" + hello for line in KILLERS)
    done = subprocess.run(
        [sys.executable, "-m", "genvfx", "worker", "--log-file", "/dev/null"],
        input=stdin,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    events = [json.loads(line) for line in done.stdout.decode("ascii").splitlines()]
    pairs = [(e["event"], e.get("kind")) for e in events]
    assert pairs == [("error", "request"), ("hello", None)] * 3 + [
        ("error", "invalid"),
        ("hello", None),
        ("error", "request"),
        ("hello", None),
    ]
    assert b"Traceback" not in done.stderr


def test_channel_send_survives_text_that_is_not_unicode() -> None:
    from genvfx.worker.server import Channel

    out = io.StringIO()
    Channel(out).send("\udcff", "error", message="bad \ud800 text")
    assert json.loads(out.getvalue())["message"] == "bad \ud800 text"
    assert isinstance(GenvfxError("x"), Exception)
