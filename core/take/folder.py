"""Take folders on disk: `<root>/<name>/v001/<name>_v001.1001.exr` plus `v001/manifest.json`.

A version folder is reserved with an exclusive `mkdir`, so two runs never share one and
nothing is ever overwritten. A take is complete only when its manifest says so.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import RuntimeFailure

VERSION_DIR = re.compile(r"^v(\d{3,})$")
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Take:
    """One version folder of a named element."""

    root: Path
    name: str
    version: int

    @property
    def label(self) -> str:
        return f"v{self.version:03d}"

    @property
    def folder(self) -> Path:
        return self.root / self.name / self.label

    @property
    def manifest_path(self) -> Path:
        return self.folder / MANIFEST

    @property
    def stem(self) -> str:
        return f"{self.name}_{self.label}"

    def padding(self, last_frame: int) -> int:
        return max(4, len(str(abs(last_frame))))

    def frame_path(self, frame: int, last_frame: int) -> Path:
        pad = self.padding(last_frame)
        number = f"-{abs(frame):0{pad}d}" if frame < 0 else f"{frame:0{pad}d}"
        return self.folder / f"{self.stem}.{number}.exr"

    def pattern(self, last_frame: int) -> str:
        """The frame pattern as Nuke writes it (`####`)."""
        return str(self.folder / f"{self.stem}.{'#' * self.padding(last_frame)}.exr")


def existing_takes(root: Path, name: str) -> Iterator[Take]:
    """Every version folder of `name` under `root`, oldest first."""
    base = Path(root) / name
    if not base.is_dir():
        return
    versions = sorted(
        int(m.group(1)) for m in (VERSION_DIR.match(p.name) for p in base.iterdir()) if m
    )
    for version in versions:
        yield Take(Path(root), name, version)


def reserve_take(root: Path, name: str) -> Take:
    """Create the next version folder exclusively and return it."""
    base = Path(root) / name
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RuntimeFailure(f"output_root: cannot create {base}: {exc.strerror}") from None
    version = max((t.version for t in existing_takes(root, name)), default=0) + 1
    for _ in range(1000):
        take = Take(Path(root), name, version)
        try:
            take.folder.mkdir()
            return take
        except FileExistsError:
            version += 1
        except OSError as exc:
            raise RuntimeFailure(
                f"output_root: cannot create {take.folder}: {exc.strerror}"
            ) from None
    raise RuntimeFailure(f"output_root: no free version folder under {base}")
