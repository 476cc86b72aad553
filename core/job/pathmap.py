"""Path mapping rules: a job's paths as the submitting machine saw them -> as a worker sees them.

The rules follow the Open Job Description convention (the file a session names as
`{{Session.PathMappingRulesFile}}`, the same one Deadline Cloud writes for storage profiles):

    {"version": "pathmapping-1.0",
     "path_mapping_rules": [{"source_path_format": "POSIX" | "WINDOWS",
                             "source_path": "/mnt/shows", "destination_path": "/shows"}]}

A path is mapped by the rule with the longest `source_path` that holds it as whole path
components (compared without case for WINDOWS sources); the rest of the path follows the
destination. A job keeps the paths it was made with (its hash, its record), and the mapped
copy is what a task opens.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath
from typing import Any

from ..errors import InvalidField
from .job import PATH_FIELDS, GenerationJob

VERSION = "pathmapping-1.0"
FORMATS = ("POSIX", "WINDOWS")
FIELD = "path_mapping_rules"


@dataclass(frozen=True)
class PathMappingRule:
    """One rule: paths under `source_path` (in `source_path_format`) go under `destination_path`."""

    source_path_format: str
    source_path: str
    destination_path: str

    def _source(self) -> PurePath:
        if self.source_path_format == "WINDOWS":
            return PureWindowsPath(self.source_path)
        return PurePosixPath(self.source_path)

    @property
    def depth(self) -> int:
        return len(self._source().parts)

    def apply(self, path: str) -> str | None:
        """The mapped path, or None when `path` is not under this rule's source."""
        source = self._source()
        pure = (
            PureWindowsPath(path) if self.source_path_format == "WINDOWS" else PurePosixPath(path)
        )
        given, wanted = pure.parts, source.parts
        if len(given) < len(wanted):
            return None
        fold = self.source_path_format == "WINDOWS"
        for have, want in zip(given, wanted, strict=False):
            if (have.lower() != want.lower()) if fold else (have != want):
                return None
        return str(PurePosixPath(self.destination_path, *given[len(wanted) :]))


@dataclass(frozen=True)
class PathMapping:
    """An ordered set of rules; the most specific matching rule maps a path."""

    rules: tuple[PathMappingRule, ...]

    @classmethod
    def from_dict(cls, data: Any, origin: str) -> PathMapping:
        allowed = (
            f'{{"version": "{VERSION}", "{FIELD}": [{{"source_path_format": "POSIX" or '
            '"WINDOWS", "source_path": ..., "destination_path": ...}, ...]}'
        )
        if not isinstance(data, Mapping) or data.get("version") != VERSION:
            raise InvalidField(FIELD, origin, allowed)
        items = data.get(FIELD)
        if not isinstance(items, list):
            raise InvalidField(FIELD, origin, allowed)
        rules = []
        for item in items:
            if not isinstance(item, Mapping):
                raise InvalidField(FIELD, origin, allowed)
            values = [
                item.get(k) for k in ("source_path_format", "source_path", "destination_path")
            ]
            fmt, source, destination = values
            if fmt not in FORMATS or not all(isinstance(v, str) and v for v in values):
                raise InvalidField(FIELD, origin, allowed)
            if not PurePosixPath(str(destination)).is_absolute():
                raise InvalidField(FIELD, origin, "rules whose destination_path is absolute")
            rules.append(PathMappingRule(str(fmt), str(source), str(destination)))
        ordered = sorted(rules, key=lambda rule: -rule.depth)
        return cls(tuple(ordered))

    @classmethod
    def load(cls, file: Path) -> PathMapping:
        """The rules in a JSON file (`Session.PathMappingRulesFile`)."""
        try:
            data = json.loads(Path(file).read_text(encoding="utf-8"))
        except OSError as exc:
            raise InvalidField(
                FIELD, str(file), f"a readable rules file ({exc.strerror})"
            ) from None
        except ValueError:
            raise InvalidField(FIELD, str(file), "a JSON rules file") from None
        return cls.from_dict(data, str(file))

    def map(self, path: str) -> str:
        for rule in self.rules:
            mapped = rule.apply(path)
            if mapped is not None:
                return mapped
        return path

    def apply(self, job: GenerationJob) -> GenerationJob:
        """The job with every path field mapped (the same job when no rule applies)."""
        changes = {}
        for name in PATH_FIELDS:
            value = getattr(job, name)
            if isinstance(value, str):
                mapped = self.map(value)
                if mapped != value:
                    changes[name] = mapped
        return job.replace(**changes) if changes else job
