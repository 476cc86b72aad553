"""The takes under a folder, as `genvfx takes` lists them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .folder import MANIFEST, VERSION_DIR
from .record import TakeRecord


@dataclass(frozen=True)
class TakeSummary:
    """One take: where, its status as read now, and how many of its frames are on disk."""

    folder: str
    name: str
    version: str
    status: str
    first: int
    last: int
    frames_expected: int
    frames_found: int
    seed: Any
    prompt: str
    message: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def list_takes(folder: Path) -> list[TakeSummary]:
    """Every take at most two folders below `folder` (or `folder` itself), by path."""
    folder = Path(folder)
    candidates = [folder, *folder.glob("v*"), *folder.glob("*/v*")]
    found = []
    for candidate in sorted(set(candidates)):
        if not VERSION_DIR.match(candidate.name) or not (candidate / MANIFEST).is_file():
            continue
        record = TakeRecord.load(candidate)
        if record is not None:
            found.append(summary(record))
    return found


def summary(record: TakeRecord) -> TakeSummary:
    take = record.take
    found = sum(take.frame_path(f, record.last).is_file() for f in record.frame_range)
    return TakeSummary(
        folder=str(record.folder),
        name=record.name,
        version=record.version,
        status=record.status,
        first=record.first,
        last=record.last,
        frames_expected=len(record.frame_range),
        frames_found=found,
        seed=record.job.get("seed"),
        prompt=str(record.job.get("prompt", "")),
        message=record.message,
    )
