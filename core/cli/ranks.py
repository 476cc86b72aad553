"""`genvfx generate --gpus N` (and `genvfx resume` of such a take): start N ranks of this same command, one per GPU, and watch them.

Each rank is `python -m genvfx generate` with the caller's flags and the job's seed, in its
own session, seeing one GPU (`CUDA_VISIBLE_DEVICES`), with one CPU thread for torch's CPU
work unless OMP_NUM_THREADS says otherwise (as torchrun does). Rank 0 prints and writes exactly as a
one-GPU run would; the others print nothing. The exit status is rank 0's: when it ends, the
others are ended. A rank that fails first fails the run, naming the rank and its last
message. Ctrl-C or SIGTERM reaches every rank as a cancel; a second one aborts.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ..errors import RuntimeFailure
from ..events import CancelToken
from ..job import GenerationJob
from ..job.pathmap import PathMapping
from ..pipeline import parallel
from ..pipeline.parallel import RANK_MARK, check_devices, gloo_on_cpu, visible_gpus
from ..take.folder import Take

POLL_S = 0.1
GRACE_S = 10.0
"""How long the other ranks get to end on their own once one has ended or failed."""


def launch(job: GenerationJob, argv: list[str]) -> int:
    """Check the machine, start `job.gpus` ranks of `genvfx ARGV`, return rank 0's status."""
    visible = visible_gpus()
    check_devices(job.gpus, job.device, visible)
    with tempfile.TemporaryDirectory(prefix="genvfx-ranks-") as scratch:
        ranks = _start(job.gpus, argv, visible, Path(scratch))
        return _watch(ranks, Path(scratch))


def command_line(args: argparse.Namespace) -> list[str]:
    """This command's arguments, as `genvfx` was given them."""
    return list(getattr(args, "argv", sys.argv[1:]))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(
    count: int, argv: list[str], visible: list[str], scratch: Path
) -> list[subprocess.Popen[bytes]]:
    port = _free_port()
    ranks: list[subprocess.Popen[bytes]] = []
    for number in range(count):
        env = {
            **os.environ,
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
            "RANK": str(number),
            "LOCAL_RANK": str(number),
            "WORLD_SIZE": str(count),
            RANK_MARK: str(number),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
        }
        if not gloo_on_cpu():
            env["CUDA_VISIBLE_DEVICES"] = visible[number]
        quiet = number != 0
        log = open(scratch / f"rank{number}.log", "wb") if quiet else None  # noqa: SIM115
        try:
            ranks.append(
                subprocess.Popen(
                    [sys.executable, "-m", "genvfx", *argv],
                    env=env,
                    stdout=subprocess.DEVNULL if quiet else None,
                    stderr=log,
                    start_new_session=True,
                    preexec_fn=_die_with_launcher if sys.platform == "linux" else None,
                )
            )
        except OSError as exc:
            _end(ranks)
            raise RuntimeFailure(f"gpus: rank {number} could not start: {exc}") from None
        finally:
            if log is not None:
                log.close()
    return ranks


def _die_with_launcher() -> None:
    """In a rank, before it starts (Linux): end it if the launcher is killed outright.

    Each rank has its own session (a terminal's Ctrl-C must reach it once, through the
    launcher), so a signal to the launcher's process group alone would leave it running.
    """
    import ctypes

    set_parent_death_signal = 1
    ctypes.CDLL(None, use_errno=True).prctl(set_parent_death_signal, signal.SIGTERM)


def _watch(ranks: list[subprocess.Popen[bytes]], scratch: Path) -> int:
    """Wait for rank 0; forward cancels; fail on the first follower that fails."""
    signals = {"count": 0}

    def forward(_signum: int, _frame: Any) -> None:
        signals["count"] += 1
        for rank in ranks:
            if rank.poll() is None:
                os.kill(rank.pid, signal.SIGINT)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    failed: str | None = None
    try:
        while ranks[0].poll() is None:
            if failed is None:
                failed = _first_failure(ranks, scratch, signals["count"] > 0)
                if failed is not None:
                    _wait(ranks[:1], GRACE_S)
                    _end(ranks[:1])
            time.sleep(POLL_S)
        _wait(ranks[1:], GRACE_S if ranks[0].returncode == 0 else 0.0)
    finally:
        _end(ranks)
        for number, handler in previous.items():
            signal.signal(number, handler)
    code = ranks[0].returncode
    if failed is None and code in (0, 2, 130):
        return code
    failed = failed or _first_failure(ranks, scratch, signals["count"] > 0)
    if failed is not None:
        raise RuntimeFailure(failed)
    if code < 0:
        raise RuntimeFailure(f"gpus: rank 0 of {len(ranks)} ended by signal {-code}")
    return code


def _first_failure(
    ranks: list[subprocess.Popen[bytes]], scratch: Path, cancelled: bool
) -> str | None:
    for number, rank in enumerate(ranks[1:], start=1):
        code = rank.poll()
        if code is None or code == 0 or (cancelled and code == 130):
            continue
        how = f"exit status {code}" if code > 0 else f"signal {-code}"
        return f"gpus: rank {number} of {len(ranks)} failed ({how}): {_last_line(scratch, number)}"
    return None


def _last_line(scratch: Path, number: int) -> str:
    try:
        lines = (scratch / f"rank{number}.log").read_text("utf-8", "replace").splitlines()
    except OSError:
        return "no message"
    useful = [line.strip() for line in lines if line.strip()]
    return useful[-1] if useful else "no message"


def _wait(ranks: list[subprocess.Popen[bytes]], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while any(r.poll() is None for r in ranks) and time.monotonic() < deadline:
        time.sleep(POLL_S)


def _end(ranks: list[subprocess.Popen[bytes]]) -> None:
    """Terminate ranks still running (a cancel first, then SIGKILL)."""
    for rank in ranks:
        if rank.poll() is None:
            os.kill(rank.pid, signal.SIGINT)
    _wait(ranks, 3.0)
    for rank in ranks:
        if rank.poll() is None:
            rank.kill()
        rank.wait()


def run_rank(
    job: GenerationJob, args: argparse.Namespace, take: Take | None, paths: PathMapping | None
) -> int | None:
    """The launcher's exit status, a follower's (0), or None in rank 0 (which runs as usual)."""
    number = parallel.rank()
    if number is None:
        from ..pipeline.prepare import prepare

        prepare(paths.apply(job) if paths is not None else job)
        return launch(job, [*command_line(args), "--seed", str(job.seed)])
    if number == 0:
        return None
    from ..pipeline.follower import follow

    follow(job, _follower_cancel(), take, paths)
    return 0


def run_resume_rank(folder: Path, job: GenerationJob, args: argparse.Namespace) -> int | None:
    """As `run_rank`, for `genvfx resume` of a take made on several GPUs."""
    number = parallel.rank()
    if number is None:
        return launch(job, command_line(args))
    if number == 0:
        return None
    from ..pipeline.follower import follow_resume

    follow_resume(folder, _follower_cancel())
    return 0


def _follower_cancel() -> CancelToken:
    """A follower's cancel: the launcher's SIGINT; a second one aborts."""
    cancel = CancelToken()

    def on_interrupt(_signum: int, _frame: Any) -> None:
        if cancel.cancelled:
            raise KeyboardInterrupt
        cancel.cancel()

    signal.signal(signal.SIGINT, on_interrupt)
    return cancel
