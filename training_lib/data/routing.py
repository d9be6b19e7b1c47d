"""Routing: which catalog files each model trains on, and which files no model can use.

A model consumes file types ("image") or JSON record formats ("records:arithmetic").
The preset's dataset selectors choose files of the data root; files under the
preset's quality floor stay in the catalog but are kept out of training. The
result is one manifest per model in the run folder.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from training_lib.config.file_types import FILE_TYPES
from training_lib.config.model_specs import MODELS, ModelSpec
from training_lib.config.record_fields import formats_of
from training_lib.config.schema import PresetModel
from training_lib.data.labels import drop_small_classes, folder_labelled
from training_lib.data.quality.scores import score_of
from training_lib.data.records import FileRecord
from training_lib.data.selection import selected


@dataclass
class Routing:
    manifests: dict[str, list[FileRecord]]  # model -> files it trains on
    left_out: dict[str, str]  # model -> why it gets no training (auto mode or empty)
    unusable: list[str]  # paths no known model can use
    below_floor: list[str]  # paths kept out of training by the quality floor
    not_selected: int  # files the dataset selectors excluded
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # model -> samples by kind
    # model -> label -> paths of the classes below `min_class_files` kept out of its training
    dropped_classes: dict[str, dict[str, list[str]]] = field(default_factory=dict)


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


def named_by_fields(records: list[FileRecord], settings: PresetModel, model: str,
                    consumes: tuple[str, ...]) -> list[FileRecord]:
    """JSON files whose records the scan matched to no format, but the preset's
    `models.<model>.fields` map onto one of the model's formats: copies that say which
    (the scan's `no_record_format` penalty does not count against them)."""
    fields = settings.fields_for(model)
    if not fields:
        return []
    out = []
    for r in records:
        keys = r.meta.get("record_keys")
        if r.type != "json" or r.meta.get("record_format") or not keys:
            continue
        if score_of(f for f in r.flags if f != "no_record_format") < settings.quality_floor:
            continue
        fmt = next((f for f in formats_of(consumes) if f.resolve(keys, fields)), None)
        if fmt is not None:
            out.append(dataclasses.replace(r, meta={**r.meta, "record_format": fmt.name}))
    return out


def route(records: list[FileRecord], settings: PresetModel,
          specs: dict[str, ModelSpec], targets: list[str] | None) -> Routing:
    """Route files to `targets` (None: every model in `specs` that has enough data).

    Labels are the records' own (`data.labels.preset_labels` sets them first); a class
    with fewer than `min_class_files` usable files is dropped from the model's files
    (`Routing.dropped_classes`), and a model left with one class gets no training."""
    chosen = [r for r in records if selected(r, settings.datasets)]
    usable = [r for r in chosen if r.score >= settings.quality_floor]
    below = sorted(r.path for r in chosen if r.score < settings.quality_floor)
    every_kind = {k for spec in [*MODELS.values(), *specs.values()] for k in spec.consumes}
    unusable = sorted(r.path for r in usable if kind_of(r) not in every_kind)
    manifests: dict[str, list[FileRecord]] = {}
    counts: dict[str, dict[str, int]] = {}
    left_out: dict[str, str] = {}
    dropped: dict[str, dict[str, list[str]]] = {}
    for name in targets if targets is not None else list(specs):
        spec = specs[name]
        files = [r for r in usable if kind_of(r) in spec.consumes]
        files += named_by_fields(chosen, settings, name, spec.consumes)
        if spec.supervised and any(not k.startswith("records:") for k in spec.consumes):
            files = [r for r in files if r.label or kind_of(r).startswith("records:")]
            files, small = drop_small_classes(files, settings.min_class_files, name)
            if small:
                dropped[name] = small
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
        elif spec.supervised and _one_class(files):
            left_out[name] = f"a single class left ({_one_class(files)}): nothing to tell apart"
            if targets is None:
                continue
        manifests[name] = files
    return Routing(manifests, left_out, unusable, below, len(records) - len(chosen), counts,
                   dropped)


def _one_class(files: list[FileRecord]) -> str | None:
    """The only label of folder-labelled files that all carry the same one, else None."""
    if any(not folder_labelled(r.type) for r in files):
        return None  # records and tables carry their classes in their fields
    labels = {r.label for r in files if r.label}
    return next(iter(labels)) if len(labels) == 1 else None
