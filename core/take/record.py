"""The take record: one `manifest.json` per take, and the provenance every frame carries.

`TakeRecord` is the only writer and reader of a manifest. It is written when the take's
folder is reserved (`running`, or `queued` for a farm take), then marked `complete`,
`failed` or `cancelled`. A `running` record whose process has ended (killed, power cut)
reads as `interrupted`: the record names its host and process (`process.Writer`).
A frame's `genvfx/` header attributes are derived from the record
(`provenance`), never from whichever process writes the frame, so a farm take written by
many tasks stamps the same `job_hash`, the take's `frame_index` and the seed of the window
that made each frame, exactly as the manifest records them.

The schema is documented in `docs/take-record.md`; `SCHEMA` changes with any change a
reader must know about. Manifests written before the schema was numbered read as version 0.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidField, RuntimeFailure
from ..job import MAX_SEED, FrameRange
from ..job.job import HASH_EXCLUDES
from ..media.exr import ATTRIBUTE_PREFIX, AttributeValue
from .carry import remove_carries
from .folder import MANIFEST, VERSION_DIR, Take
from .heartbeat import stale
from .process import Writer

SCHEMA = 1
STATUSES = ("queued", "running", "complete", "failed", "cancelled", "interrupted")


def window_seed(seed: int, start_index: int) -> int:
    """The seed of a generation window that starts `start_index` frames into the take.

    It depends on where the window starts in the take, not on who generates it, so a farm
    task generating frames 25-48 uses the seeds a local run of the whole shot would.
    """
    return (seed + start_index) % (MAX_SEED + 1)


@dataclass(frozen=True)
class WindowRecord:
    """One generation window of the take: frames `first`-`last`, generated with `seed`."""

    first: int
    last: int
    generated: int
    overlap: int
    seed: int

    def to_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


@dataclass
class TakeRecord:
    """Everything a take's manifest says; `folder` is where it was read from or written to."""

    folder: Path
    status: str
    genvfx_version: str
    created: str
    host: str
    job: dict[str, Any]
    job_hash: str
    name: str
    version: str
    pattern: str
    first: int
    last: int
    windows: list[WindowRecord]
    model: dict[str, Any] = field(default_factory=dict)
    generated: dict[str, Any] = field(default_factory=dict)
    placement: dict[str, Any] = field(default_factory=dict)
    colour: dict[str, Any] = field(default_factory=dict)
    matte: dict[str, Any] = field(default_factory=dict)
    frames: list[dict[str, Any]] = field(default_factory=list)
    finished: str | None = None
    message: str | None = None
    inference_seconds: float | None = None
    schema: int = SCHEMA
    pid: int | None = None
    process_started: str = ""

    @property
    def complete(self) -> bool:
        return self.status == "complete"

    @property
    def frame_range(self) -> FrameRange:
        return FrameRange(self.first, self.last)

    @property
    def take(self) -> Take:
        return take_of(self.folder)

    def window_of(self, frame: int) -> WindowRecord:
        """The window a frame is written from (the later one where two overlap)."""
        found = [w for w in self.windows if w.first <= frame <= w.last]
        if not found:
            raise RuntimeFailure(f"frame {frame} is outside every window of take {self.folder}")
        return found[-1]

    @property
    def chunks(self) -> list[FrameRange]:
        """A farm take's chunks (each task's frames), in order; none for a local take."""
        recorded = self.generated.get("chunks")
        if not isinstance(recorded, list):
            return []
        try:
            return [FrameRange(int(first), int(last)) for first, last in recorded]
        except (TypeError, ValueError, OverflowError):
            return []

    def covers(self, frames: FrameRange) -> bool:
        """True when `frames` are one of the take's recorded chunks (a farm task's), or, in
        a take without chunks, start a recorded window and end one."""
        chunks = self.chunks
        if chunks:
            return frames in chunks
        starts = {w.first for w in self.windows}
        ends = {w.last for w in self.windows}
        return frames.first in starts and frames.last in ends

    def first_difference(self, job: Mapping[str, Any]) -> str | None:
        """The first field in which `job` (a job dict) is not this take's job, or None.

        The frame range (a chunk's own) and where takes are written are not compared.
        Said as `field (the take's X, this job's Y)` for a refusal message.
        """
        ignored = {"frames", *HASH_EXCLUDES}
        for key in sorted(set(self.job) | set(job)):
            if key in ignored:
                continue
            if self.job.get(key) != job.get(key):
                return f"{key} (the take's {self.job.get(key)!r}, this job's {job.get(key)!r})"
        return None

    def provenance(self, frame: int) -> dict[str, AttributeValue]:
        """The `genvfx/` header attributes of one frame of this take."""
        job = self.job
        window = self.window_of(frame)
        values: dict[str, AttributeValue] = {
            "prompt": str(job.get("prompt", "")),
            "negative_prompt": str(job.get("negative_prompt", "")),
            "seed": int(job.get("seed", 0)),
            "window_seed": window.seed,
            "window": f"{window.first}-{window.last}",
            "steps": self.generated.get("steps", 0),
            "guidance": float(self.generated.get("guidance", 0.0)),
            "strength": float(self.generated.get("strength", 0.0)),
            "mode": str(job.get("mode", "")),
            "model": str(job.get("model", "")),
            "weights_hash": str(self.model.get("weights_hash", "")),
            "loras": json.dumps(
                [
                    {"sha256": lora.get("sha256"), "weight": lora.get("weight")}
                    for lora in self.model.get("loras") or []
                    if isinstance(lora, Mapping)
                ],
                separators=(",", ":"),
            ),
            "passes": ",".join(sorted(self.generated.get("passes") or {})),
            "family": str(self.model.get("family", "")),
            "pipeline": str(self.model.get("pipeline", "")),
            "version": self.genvfx_version,
            "job_hash": self.job_hash,
            "take": f"{self.name}/{self.version}",
            "working_space": str(self.colour.get("working_space", "")),
            "model_space": str(self.colour.get("model_space", "")),
            "matte": str(self.matte.get("method", "none")),
            "effective_prompt": str(self.matte.get("effective_prompt", job.get("prompt", ""))),
            "background_prompt": str(self.matte.get("background_prompt", "")),
            "job": json.dumps(job, sort_keys=True, ensure_ascii=False, separators=(",", ":")),
            "frame": frame,
            "frame_index": frame - self.first,
            "record_schema": self.schema,
        }
        return {ATTRIBUTE_PREFIX + k: v for k, v in values.items()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "genvfx_version": self.genvfx_version,
            "complete": self.complete,
            "status": self.status,
            "message": self.message,
            "created": self.created,
            "finished": self.finished,
            "host": self.host,
            "pid": self.pid,
            "process_started": self.process_started,
            "job": self.job,
            "job_hash": self.job_hash,
            "take": {"name": self.name, "version": self.version, "folder": str(self.folder)},
            "pattern": self.pattern,
            "first": self.first,
            "last": self.last,
            "model": self.model,
            "generated": {**self.generated, "windows": [w.to_dict() for w in self.windows]},
            "placement": self.placement,
            "colour": self.colour,
            "matte": self.matte,
            "inference_seconds": self.inference_seconds,
            "frames": self.frames,
        }

    def write(self) -> None:
        """Replace the manifest atomically (temporary file, then rename)."""
        path = Path(self.folder) / MANIFEST
        tmp = path.with_name(f".{MANIFEST}.partial-{os.getpid()}")
        data = self.to_dict()
        if data["status"] == "interrupted":
            data["status"] = "running"
        text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        try:
            tmp.write_text(text, encoding="utf-8", errors="backslashreplace")
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise RuntimeFailure(f"cannot write {path}: {exc.strerror or exc}") from None

    def mark_complete(self, inference_seconds: float | None = None) -> None:
        """Record every frame and mark the take complete (all frames must exist); the
        window states saved for later runs (`take.carry`) are no longer needed."""
        take = self.take
        paths = [(frame, take.frame_path(frame, self.last)) for frame in self.frame_range]
        missing = [frame for frame, path in paths if not path.is_file()]
        if missing:
            shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
            raise RuntimeFailure(f"take {self.folder} is missing {len(missing)} frame(s): {shown}")
        self.frames = [
            {"frame": frame, "file": path.name, "index": frame - self.first, **fingerprint(path)}
            for frame, path in paths
        ]
        self.status, self.message, self.finished = "complete", None, now()
        if inference_seconds is not None:
            self.inference_seconds = round(inference_seconds, 3)
        self.write()
        remove_carries(self.folder)

    def mark_running(self) -> None:
        """Record this process as the take's writer, `running` (a resumed take)."""
        writer = Writer.this()
        self.status, self.message, self.finished = "running", None, None
        self.host, self.pid, self.process_started = writer.host, writer.pid, writer.started
        self.write()

    def mark_ended(self, status: str, message: str) -> None:
        """Mark the take `failed` or `cancelled`, saying why; it is never complete."""
        if status not in ("failed", "cancelled"):
            raise ValueError(f"not an end status: {status}")
        self.status, self.message, self.finished = status, message, now()
        self.write()

    @classmethod
    def read(cls, folder: Path) -> TakeRecord:
        """The record in a take folder; `InvalidField("take", ...)` when it is not one."""
        folder = Path(folder)
        try:
            data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        except OSError as exc:
            raise InvalidField(
                "take", str(folder), f"a take folder with a readable {MANIFEST} ({exc.strerror})"
            ) from None
        except (ValueError, RecursionError):
            raise InvalidField(
                "take", str(folder), f"a take folder whose {MANIFEST} is JSON"
            ) from None
        return cls.from_dict(data, folder)

    @classmethod
    def load(cls, folder: Path) -> TakeRecord | None:
        """The record in a take folder, or None when there is no readable one."""
        try:
            return cls.read(folder)
        except InvalidField:
            return None

    @classmethod
    def from_dict(cls, data: Any, folder: Path) -> TakeRecord:
        def fail(what: str) -> InvalidField:
            return InvalidField("take", str(folder), f"a {MANIFEST} with {what}")

        if not isinstance(data, Mapping):
            raise fail("a JSON object")
        schema = data.get("schema", 0)
        if not isinstance(schema, int) or isinstance(schema, bool) or not 0 <= schema <= SCHEMA:
            raise fail(f"a schema from 0 to {SCHEMA} (it says {schema!r}; a newer genvfx wrote it)")
        take = _mapping(data.get("take"))
        generated = _mapping(data.get("generated"))
        job = data.get("job")
        first, last, pattern = data.get("first"), data.get("last"), data.get("pattern")
        if not isinstance(job, Mapping):
            raise fail("the take's job")
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (first, last)):
            raise fail("first and last frames")
        if not isinstance(pattern, str) or not pattern:
            raise fail("a frame pattern")
        assert isinstance(first, int) and isinstance(last, int)
        status = data.get("status")
        if status not in STATUSES:
            status = "complete" if data.get("complete") is True else "failed"
        if status == "complete" and data.get("complete") is not True:
            status = "failed"
        seed = job.get("seed", 0)
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MAX_SEED:
            raise fail("the job's seed, a whole number")
        host = str(data.get("host", ""))
        pid = data.get("pid") if isinstance(data.get("pid"), int) else None
        started = str(data.get("process_started") or "")
        if status == "running" and _writer_gone(Writer(host, pid or 0, started), folder):
            status = "interrupted"
        windows = _windows(generated.get("windows"), seed)
        if not windows:
            windows = [WindowRecord(first, last, last - first + 1, 0, seed)]
        return cls(
            folder=folder,
            status=str(status),
            genvfx_version=str(data.get("genvfx_version", "")),
            created=str(data.get("created", "")),
            host=host,
            job=dict(job),
            job_hash=str(data.get("job_hash", "")),
            name=str(take.get("name", folder.parent.name)),
            version=str(take.get("version", folder.name)),
            pattern=pattern,
            first=first,
            last=last,
            windows=windows,
            model=_mapping(data.get("model")),
            generated={k: v for k, v in generated.items() if k != "windows"},
            placement=_mapping(data.get("placement")),
            colour=_mapping(data.get("colour")),
            matte=_mapping(data.get("matte")),
            frames=[f for f in data.get("frames") or [] if isinstance(f, dict)],
            finished=data.get("finished") if isinstance(data.get("finished"), str) else None,
            message=data.get("message") if isinstance(data.get("message"), str) else None,
            inference_seconds=_number_or_none(data.get("inference_seconds")),
            schema=schema,
            pid=pid,
            process_started=started,
        )


def _writer_gone(writer: Writer, folder: Path) -> bool:
    """The writing process has ended: by its id on its own host, else by the folder's silence."""
    if writer.local:
        return writer.gone()
    return stale(folder)


def take_of(folder: Path) -> Take:
    """The `Take` whose version folder is `folder` (`<root>/<name>/vNNN`)."""
    folder = Path(folder)
    match = VERSION_DIR.match(folder.name)
    if match is None:
        raise InvalidField("take", str(folder), "a take folder <root>/<name>/vNNN")
    return Take(folder.parent.parent, folder.parent.name, int(match.group(1)))


def fingerprint(path: Path) -> dict[str, Any]:
    """A frame file's `size` in bytes and `sha256`, recorded when the take is complete."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"size": path.stat().st_size, "sha256": digest.hexdigest()}


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _number_or_none(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _windows(value: Any, seed: int) -> list[WindowRecord]:
    """Windows as recorded; a record without seeds (schema 0) used seed + window number."""
    if not isinstance(value, list):
        return []
    found = []
    for number, item in enumerate(value):
        if not isinstance(item, Mapping):
            continue
        try:
            first, last = int(item["first"]), int(item["last"])
            generated = int(item.get("generated", last - first + 1))
            overlap = int(item.get("overlap", 0))
        except (KeyError, TypeError, ValueError, OverflowError):
            continue
        window_seed_value = item.get("seed")
        if not isinstance(window_seed_value, int):
            window_seed_value = (seed + number) % (MAX_SEED + 1)
        found.append(
            WindowRecord(
                first,
                last,
                generated,
                overlap,
                window_seed_value,
            )
        )
    return found
