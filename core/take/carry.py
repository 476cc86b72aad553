"""The state one generation window hands to the next, kept beside the take's frames.

A window continued by the next one holds back the frames the next one overlaps (they are
cross-faded with it) and its last frame (an image-to-video window starts from it). Whichever
process generates the window saves that state as `.carry/<first>.npz` in the take folder
(`<first>` the window's first frame), float32 exactly as it was in memory, stamped with the
take's job hash and the window. So a farm chunk can continue the chunk before it, and a
resumed take can restart at its first missing window. The files go when the take is complete.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InvalidField, RuntimeFailure

CARRY_DIR = ".carry"


@dataclass(frozen=True)
class Carry:
    """`held`: the (n, h, w, c) frames the next window overlaps (n may be 0); `last`: the
    window's last (h, w, c) frame. Both float32; c is 3, or 4 with the model's alpha."""

    held: np.ndarray
    last: np.ndarray

    @property
    def previous(self) -> np.ndarray | None:
        """The frames the next window starts on, None when it does not overlap."""
        return self.held if len(self.held) else None


def carry_path(folder: Path, first: int) -> Path:
    """Where the window starting at frame `first` keeps its state."""
    return Path(folder) / CARRY_DIR / f"{first}.npz"


def save_carry(folder: Path, first: int, last: int, job_hash: str, carry: Carry) -> Path:
    """Write the state of window `first`-`last` atomically (temporary file, then rename)."""
    path = carry_path(folder, first)
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        path.parent.mkdir(exist_ok=True)
        with open(tmp, "wb") as handle:
            np.savez(
                handle,
                held=np.ascontiguousarray(carry.held, np.float32),
                last=np.ascontiguousarray(carry.last, np.float32),
                job_hash=np.array(job_hash),
                window=np.array([first, last], np.int64),
            )
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise RuntimeFailure(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def read_carry(
    folder: Path, first: int, last: int, job_hash: str, held: int, size: tuple[int, int]
) -> Carry | None:
    """The saved state of window `first`-`last`, None when there is none.

    A file that is not this take's (another job hash or window), not `held` frames of
    `size` (height, width), or not whole is refused, naming it.
    """
    path = carry_path(folder, first)
    if not path.is_file():
        return None

    def refuse(what: str) -> InvalidField:
        return InvalidField("take-dir", str(path), f"a carry file {what}")

    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in ("held", "last", "job_hash", "window")}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        raise refuse("written whole by genvfx (it does not read as one)") from None
    if str(arrays["job_hash"]) != job_hash:
        raise refuse(f"of this take's job {job_hash} (it is of {arrays['job_hash']})")
    if arrays["window"].tolist() != [first, last]:
        raise refuse(f"of window {first}-{last} (it says {arrays['window'].tolist()})")
    height, width = size
    channels = arrays["last"].shape[-1] if arrays["last"].ndim == 3 else 0
    if channels not in (3, 4):
        raise refuse(f"holding frames of 3 or 4 channels (it holds {arrays['last'].shape})")
    shapes = {"held": (held, height, width, channels), "last": (height, width, channels)}
    for name, shape in shapes.items():
        array = arrays[name]
        if array.dtype != np.float32 or array.shape != shape:
            raise refuse(
                f"holding {name} as float32 {shape} (it holds {array.dtype} {array.shape})"
            )
    return Carry(arrays["held"], arrays["last"])


def remove_carries(folder: Path) -> None:
    """Delete the take's saved window states (a complete take needs none)."""
    shutil.rmtree(Path(folder) / CARRY_DIR, ignore_errors=True)
