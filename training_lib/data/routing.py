"""Routing: which catalog files each model trains on, and which files no model can use.

A model consumes file types ("image") or JSON record formats ("records:arithmetic").
The preset's dataset selectors choose files of the data root; files under the
preset's quality floor stay in the catalog but are kept out of training. The
result is one manifest per model in the run folder.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Iterable

from training_lib.config.file_types import FILE_TYPES
from training_lib.config.model_specs import MODELS, ModelSpec
from training_lib.config.schema import DatasetSelector, PresetModel
from training_lib.data.records import FileRecord


@dataclass
class Routing:
    manifests: dict[str, list[FileRecord]]  # model -> files it trains on
    left_out: dict[str, str]  # model -> why it gets no training (auto mode or empty)
    unusable: list[str]  # paths no known model can use
    below_floor: list[str]  # paths kept out of training by the quality floor
    not_selected: int  # files the dataset selectors excluded
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # model -> samples by kind


def selected(record: FileRecord, selectors: Iterable[DatasetSelector]) -> bool:
    path = PurePosixPath(record.path)
    for sel in selectors:
        base = PurePosixPath(sel.path.strip("/") or ".")
        if str(base) != "." and base not in path.parents:
            continue
        rel = str(path if str(base) == "." else path.relative_to(base))
        if not any(_glob(rel, pattern) for pattern in sel.include):
            continue
        if any(_glob(rel, pattern) for pattern in sel.exclude):
            continue
        if sel.types is not None and record.type not in sel.types:
            continue
        return True
    return False


def _glob(path: str, pattern: str) -> bool:
    # "**/*" must also match files at the top level
    return fnmatch.fnmatch(path, pattern) or (pattern.startswith("**/")
                                              and fnmatch.fnmatch(path, pattern[3:]))


def kind_of(record: FileRecord) -> str:
    fmt = record.meta.get("record_format") if record.type == "json" else None
    return f"records:{fmt}" if fmt else record.type


def samples_in(record: FileRecord) -> int:
    """Training samples a file holds: records of a JSON file, rows of a table, else one
    (the meta key its file type names, `FileType.samples_key`)."""
    spec = FILE_TYPES.get(record.type)
    if spec is None or spec.samples_key is None:
        return 1
    return int(record.meta.get(spec.samples_key, 1))


def route(records: list[FileRecord], settings: PresetModel,
          specs: dict[str, ModelSpec], targets: list[str] | None) -> Routing:
    """Route files to `targets` (None: every model in `specs` that has enough data)."""
    chosen = [r for r in records if selected(r, settings.datasets)]
    usable = [r for r in chosen if r.score >= settings.quality_floor]
    below = sorted(r.path for r in chosen if r.score < settings.quality_floor)
    every_kind = {k for spec in [*MODELS.values(), *specs.values()] for k in spec.consumes}
    unusable = sorted(r.path for r in usable if kind_of(r) not in every_kind)
    manifests: dict[str, list[FileRecord]] = {}
    counts: dict[str, dict[str, int]] = {}
    left_out: dict[str, str] = {}
    for name in targets if targets is not None else list(specs):
        spec = specs[name]
        files = [r for r in usable if kind_of(r) in spec.consumes]
        if spec.supervised and any(not k.startswith("records:") for k in spec.consumes):
            files = [r for r in files if r.label or kind_of(r).startswith("records:")]
        by_kind: dict[str, int] = {}
        for r in files:
            by_kind[kind_of(r)] = by_kind.get(kind_of(r), 0) + samples_in(r)
        total = sum(by_kind.values())
        counts[name] = by_kind
        if total < spec.min_samples:
            left_out[name] = (f"{total} usable samples of {', '.join(spec.consumes)} "
                              f"(needs {spec.min_samples})")
            if targets is None:
                continue
        manifests[name] = files
    return Routing(manifests, left_out, unusable, below, len(records) - len(chosen), counts)
