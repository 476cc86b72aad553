"""Finding a model: built-in, local folder, a name under `GENVFX_MODELS`, or (if allowed) a hub id.

Offline is the default: a hub id is only fetched when the job sets `allow_network`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidField, InvalidInput, ModelNotFound, RuntimeFailure
from ..paths import MODEL_SETTINGS, cache_dir, model_search_dirs
from .builtin import PREFIX, builtin_names, ensure_builtin
from .catalogue import FAMILIES, Family, family_named, family_of_pipeline_class
from .safety import unsafe_files

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf", ".ckpt")
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")


@dataclass(frozen=True)
class ModelSource:
    """A resolved model: where its files are and what it is."""

    reference: str
    path: Path
    family: Family
    index_class: str
    call_defaults: Mapping[str, Any] = field(default_factory=dict)
    adapters: Mapping[str, Path] = field(default_factory=dict)

    def weights_hash(self) -> str:
        return weights_hash(self.path)

    def adapter_record(self, kind: str) -> dict[str, str]:
        """What a take records of an adapter pass: the pipeline class, the file and its hash."""
        adapter = self.adapters[kind]
        return {
            "pipeline": self.family.passes[kind],
            "adapter": str(adapter),
            "sha256": file_hash(adapter),
        }


def resolve_model(
    reference: str,
    family: str | None = None,
    allow_network: bool = False,
    allow_unsafe_weights: bool = False,
) -> ModelSource:
    """Turn the job's `model` field into a local folder with a known family.

    A folder whose loading could run code (pickle weights, custom code) is refused here,
    before anything is written, unless `allow_unsafe_weights` (`models.safety`).
    """
    path = _locate(reference, allow_network)
    if not allow_unsafe_weights:
        check_safe(path)
    index_class = read_index_class(path)
    if family is not None:
        fam = family_named(family)
    else:
        found = family_of_pipeline_class(index_class, read_components(path))
        if found is None:
            raise InvalidField(
                "family",
                None,
                f"one of {', '.join(FAMILIES)}: {path} holds a {index_class}, "
                "which genvfx does not recognise; name the family explicitly",
            )
        fam = found
    settings = _read_settings(path)
    return ModelSource(
        reference=reference,
        path=path,
        family=_with_model_settings(fam, path),
        index_class=index_class,
        call_defaults=_call_defaults(settings, path),
        adapters=_adapters(settings, path, fam),
    )


ADAPTER_KINDS = ("hdr", "alpha")
ADAPTER_FOLDER = "loras"


def _read_settings(path: Path) -> dict[str, Any]:
    settings_path = path / MODEL_SETTINGS
    if not settings_path.is_file():
        return {}
    try:
        settings = json.loads(settings_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelNotFound(f"model: {settings_path} is not valid JSON: {exc}") from None
    if not isinstance(settings, dict):
        raise InvalidField(str(settings_path), settings, "a JSON object")
    return settings


def _call_defaults(settings: Mapping[str, Any], path: Path) -> dict[str, Any]:
    """`"call": {argument: value}`: pipeline arguments this model wants unlike its family's.

    A distilled or tiny model needs other defaults than the full one (guidance passes it
    was not trained for); each applies to the pipeline classes whose call takes it.
    """
    call = settings.get("call", {})
    scalar = (str, int, float, bool, type(None))
    if not isinstance(call, dict) or not all(isinstance(v, scalar) for v in call.values()):
        raise InvalidField(
            f"{path / MODEL_SETTINGS}: call", call, "an object of argument names to plain values"
        )
    return dict(call)


def _adapters(settings: Mapping[str, Any], path: Path, family: Family) -> dict[str, Path]:
    """The IC-LoRA of each adapter pass the folder holds: named in its settings as
    `"hdr_lora"` / `"alpha_lora"`, or a `loras/*hdr*.safetensors` (`*alpha*`) file."""
    found: dict[str, Path] = {}
    for kind in ADAPTER_KINDS:
        if kind not in family.passes:
            continue
        named = settings.get(f"{kind}_lora")
        if named is not None:
            if not isinstance(named, str) or not (path / named).is_file():
                raise InvalidField(
                    f"{path / MODEL_SETTINGS}: {kind}_lora", named, "a .safetensors file path"
                )
            found[kind] = (path / named).resolve()
            continue
        folder = path / ADAPTER_FOLDER
        matches = sorted(folder.glob(f"*{kind}*.safetensors")) if folder.is_dir() else []
        if matches:
            found[kind] = matches[0].resolve()
    return found


def check_safe(path: Path) -> None:
    """Refuse a model folder holding pickle weights or custom code, naming the files."""
    unsafe = unsafe_files(path)
    if unsafe:
        shown = ", ".join(unsafe[:10]) + (
            f" and {len(unsafe) - 10} more" if len(unsafe) > 10 else ""
        )
        raise InvalidInput(
            f"model: {path} holds files that can run code when loaded ({shown}); genvfx "
            "loads safetensors weights only. Convert them to safetensors, or set "
            "allow_unsafe_weights (--allow-unsafe-weights) if you trust where they came from"
        )


def _with_model_settings(family: Family, path: Path) -> Family:
    """The family's limits as this model folder's `genvfx.json` narrows them, if it has one.

    A distilled or small model works best at another size than its family's default; the
    folder can say so: `{"default_size": [W, H], "max_pixels": N}`.
    """
    settings_path = path / MODEL_SETTINGS
    settings = _read_settings(path)
    changes: dict[str, object] = {}
    size = settings.get("default_size") if isinstance(settings, dict) else None
    if size is not None:
        if not (
            isinstance(size, list)
            and len(size) == 2
            and all(isinstance(v, int) and v > 0 for v in size)
        ):
            raise InvalidField(f"{settings_path}: default_size", size, "[WIDTH, HEIGHT] in pixels")
        changes["default_size"] = (size[0], size[1])
    pixels = settings.get("max_pixels") if isinstance(settings, dict) else None
    if pixels is not None:
        if not (isinstance(pixels, int) and pixels > 0):
            raise InvalidField(f"{settings_path}: max_pixels", pixels, "a positive pixel count")
        changes["max_pixels"] = pixels
    return dataclasses.replace(family, **changes)  # type: ignore[arg-type]


def read_index_class(path: Path) -> str:
    index = path / "model_index.json"
    try:
        data = json.loads(index.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelNotFound(
            f"model: {index} cannot be read as a diffusers model index: {exc}"
        ) from None
    name = data.get("_class_name") if isinstance(data, dict) else None
    if not isinstance(name, str):
        raise ModelNotFound(f"model: {index} has no _class_name")
    return name


def read_components(path: Path) -> frozenset[str]:
    """What tells one form of a family from another in a folder's model_index.json: the
    components it fills (not those saved as null) and the settings saved as true."""
    try:
        data = json.loads((path / "model_index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return frozenset()
    if not isinstance(data, dict):
        return frozenset()
    return frozenset(
        name
        for name, value in data.items()
        if value is True or (isinstance(value, list) and len(value) == 2 and value[0] is not None)
    )


def _locate(reference: str, allow_network: bool) -> Path:
    if reference.startswith(PREFIX):
        return ensure_builtin(reference)
    as_path = Path(os.path.expanduser(reference))
    if (as_path / "model_index.json").is_file():
        return as_path.resolve()
    if as_path.exists():
        raise ModelNotFound(
            f"model: {reference!r} exists but is not a diffusers model folder (no model_index.json)"
        )
    for folder in model_search_dirs():
        candidate = folder / reference
        if (candidate / "model_index.json").is_file():
            return candidate.resolve()
    if HUB_ID.fullmatch(reference):
        if not allow_network:
            raise ModelNotFound(
                f"model: {reference!r} is not a local folder or a name under GENVFX_MODELS; "
                "it looks like a hub id, which is only fetched when network access is allowed "
                "(--allow-network / allow_network: true)"
            )
        return _download(reference)
    searched = ", ".join(str(p) for p in model_search_dirs()) or "GENVFX_MODELS is not set"
    raise ModelNotFound(
        f"model: {reference!r} is not a model folder, a built-in ({', '.join(builtin_names())}) "
        f"or a model name in the GENVFX_MODELS folders ({searched})"
    )


def _download(hub_id: str) -> Path:
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(hub_id))
    except Exception as exc:
        raise RuntimeFailure(f"model: downloading {hub_id!r} failed: {exc}") from exc


def list_local_models() -> list[tuple[str, Path, str]]:
    """(name, folder, family key or '?') for every model folder under `GENVFX_MODELS`."""
    found = []
    for folder in model_search_dirs():
        if not folder.is_dir():
            continue
        for child in sorted(folder.iterdir()):
            if (child / "model_index.json").is_file():
                try:
                    fam = family_of_pipeline_class(read_index_class(child), read_components(child))
                except ModelNotFound:
                    fam = None
                found.append((child.name, child, fam.key if fam else "?"))
    return found


def file_hash(path: Path) -> str:
    """sha256 of one file (a LoRA), as `sha256:<hex>`."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def weights_hash(path: Path) -> str:
    """sha256 over every weight file's relative path and bytes.

    Hashing tens of GB is slow, so the result is cached against each file's size and mtime.
    """
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in WEIGHT_SUFFIXES)
    signature = [[str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns] for p in files]
    key = hashlib.sha256(json.dumps([str(path.resolve()), signature]).encode()).hexdigest()
    store = cache_dir() / "weights-hashes"
    cached = store / key
    if cached.is_file():
        return cached.read_text().strip()
    digest = hashlib.sha256()
    for p in files:
        digest.update(str(p.relative_to(path)).encode("utf-8") + b"\0")
        with p.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    value = "sha256:" + digest.hexdigest()
    store.mkdir(parents=True, exist_ok=True)
    tmp = store / f".{key}.{os.getpid()}"
    tmp.write_text(value)
    os.replace(tmp, cached)
    return value
