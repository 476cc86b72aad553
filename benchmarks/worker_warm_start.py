"""Worker warm start: the set-up time of a second job against the first, in one worker.

Run: python benchmarks/worker_warm_start.py [--model builtin:tiny-ltx]. Set-up is the time
from sending `generate` to the job's first `generate` stage, when its first window starts
denoising (job checked, model resolved, weights hashed, take reserved, pipeline loaded); the
second job, on the same model, finds the pipeline loaded.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from typing import Any

from genvfx.worker.protocol import PROTOCOL


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="builtin:tiny-ltx")
    args = parser.parse_args()
    out = tempfile.mkdtemp(prefix="genvfx-warm-")
    worker = subprocess.Popen(
        [sys.executable, "-m", "genvfx", "worker", "--log-file", f"{out}/worker.log"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        bufsize=1,
    )
    assert worker.stdin is not None and worker.stdout is not None

    def send(message: dict[str, Any]) -> None:
        assert worker.stdin is not None
        worker.stdin.write(json.dumps(message) + "\n")
        worker.stdin.flush()

    def until(request_id: str, *events: str) -> dict[str, Any]:
        assert worker.stdout is not None
        for line in worker.stdout:
            event = json.loads(line)
            kind = f"stage:{event['stage']}" if event["event"] == "stage" else event["event"]
            if event["id"] == request_id and kind in events:
                return event
            if event["id"] == request_id and event["event"] == "error":
                raise SystemExit(event["message"])
        raise SystemExit("the worker ended")

    send({"id": "h", "op": "hello", "protocol": PROTOCOL})
    until("h", "hello")
    setups = []
    for number in (1, 2):
        job = {
            "prompt": "a dust plume",
            "model": args.model,
            "frames": "1001-1009",
            "format": "64x64",
            "steps": 2,
            "seed": number,
            "output_root": out,
            "name": f"job{number}",
        }
        started = time.monotonic()
        send({"id": f"j{number}", "op": "generate", "job": job})
        until(f"j{number}", "stage:generate")
        setups.append(time.monotonic() - started)
        until(f"j{number}", "done")
    send({"op": "shutdown"})
    worker.wait(timeout=60)
    ratio = setups[1] / setups[0]
    print(
        json.dumps(
            {
                "first_setup_s": round(setups[0], 3),
                "second_setup_s": round(setups[1], 3),
                "ratio": round(ratio, 4),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
