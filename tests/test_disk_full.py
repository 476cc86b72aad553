"""A disk that refuses writes (here: a file-size limit, as a full disk or quota does) gives a
clear error, exit 1, and never a take folder without a record or with a partial one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import genvfx_command

resource = pytest.importorskip("resource")


def generate_limited(out: Path, limit: int) -> subprocess.CompletedProcess[str]:
    import signal

    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        [
            *genvfx_command(),
            "generate",
            "--model",
            "builtin:tiny-ltx",
            "--prompt",
            "dust",
            "--frames",
            "1-9",
            "--format",
            "64x64",
            "--steps",
            "1",
            "--out",
            str(out),
        ],
        preexec_fn=limited,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_FSIZE write refusals are Linux's")
def test_writes_refused_give_exit_1_a_message_and_a_failed_or_no_take(tmp_path: Path) -> None:
    from genvfx.models.builtin import ensure_builtin

    ensure_builtin("builtin:tiny-ltx")  # the model is on disk already; only the take is refused
    frames_refused = generate_limited(tmp_path / "frames", 12_000)
    assert frames_refused.returncode == 1, frames_refused.stderr
    assert "Traceback" not in frames_refused.stderr
    assert "element_v001.0001.exr" in frames_refused.stderr
    take = tmp_path / "frames" / "element" / "v001"
    manifest = json.loads((take / "manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["complete"] is False
    assert not list(take.glob("*.exr")) and not list(take.glob(".*partial*"))

    record_refused = generate_limited(tmp_path / "record", 1000)
    assert record_refused.returncode == 1, record_refused.stderr
    assert "Traceback" not in record_refused.stderr
    assert "manifest.json" in record_refused.stderr
    assert not (tmp_path / "record" / "element" / "v001").exists()
