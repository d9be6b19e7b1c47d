"""Class labels of a data folder: declared by the preset, else inferred conservatively.

The convention is the ecosystem's (Keras `image_dataset_from_directory`, torchvision
`ImageFolder`): the folder a dataset entry names holds one subfolder per class. A
preset says so with `datasets: [{path: images, labels: subfolders}]`; `labels: none`,
`labels: {field: NAME}` (records) and `labels: {file: labels.csv}` (path -> label)
are the other declarations.

Without one, labels are inferred, and only where a user would predict them:

* a folder is a class folder only when files sit directly in it, and it has at least
  one sibling folder like it (two classes or more) whose files share its dominant
  file type, each holding at least `min_class_files` files of that type;
* a file takes its folder's label only when its type is that dominant type (a stray
  WAV among JSON records is not an audio class);
* records (JSON, tables) take labels from their fields, never from folders
  (`FileType.folder_label`); everything else is unlabelled.

Each parent folder considered becomes a `LabelGroup` saying which classes it gave, or
why it gave none; `scan` prints them, the scan and routing JSON carry them.

>>> result = infer_labels(records, min_class_files=5)   # doctest: +SKIP
>>> [g.line() for g in result.groups]                    # doctest: +SKIP
['images: 10 classes of image (0 180, 1 182, ...)']
"""
from __future__ import annotations

import csv
import dataclasses
import logging
import posixpath
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Iterable

from training_lib.config.file_types import FILE_TYPES
from training_lib.data.records import FileRecord
from training_lib.data.selection import selector_for
from training_lib.errors import DataError

if TYPE_CHECKING:
    from training_lib.config.schema import PresetModel

log = logging.getLogger(__name__)

DEFAULT_MIN_CLASS_FILES = 5
# column names a labels file may give its two columns (else: no header, path then label)
_PATH_COLUMNS = ("path", "file", "filename", "file_name", "image", "name")
_LABEL_COLUMNS = ("label", "class", "category", "target", "y")
_SHOWN = 8  # classes or files named in one line


def folder_labelled(type_: str) -> bool:
    """Whether a file of `type_` may take a label from its folder (records never do)."""
    spec = FILE_TYPES.get(type_)
    return spec is not None and spec.folder_label and type_ != "unknown"


@dataclass(frozen=True)
class LabelGroup:
    """One folder whose subfolders were considered as classes, and the outcome."""

    folder: str  # relative to the data root; "." for the root
    source: str  # inferred, subfolders, file, field, none
    classes: dict[str, int] = field(default_factory=dict)  # label -> files it labels
    type: str | None = None  # the class folders' dominant file type
    reason: str = ""  # why these labels, or why none
    left_out: dict[str, str] = field(default_factory=dict)  # subfolder -> why not a class
    strays: tuple[str, ...] = ()  # files in class folders not of the dominant type

    def line(self) -> str:
        """One line for `scan`: the label set, or why there is none."""
        if not self.classes:
            return f"{self.folder}: no labels ({self.reason})"
        shown = ", ".join(f"{k} {n}" for k, n in list(sorted(self.classes.items()))[:_SHOWN])
        more = f", +{len(self.classes) - _SHOWN} more" if len(self.classes) > _SHOWN else ""
        what = f" of {self.type}" if self.type else ""
        return f"{self.folder}: {len(self.classes)} classes{what} ({shown}{more}) [{self.source}]"

    def notes(self) -> list[str]:
        """Further lines: subfolders that are not classes, files left unlabelled."""
        out = [f"not a class: {name} ({why})" for name, why in sorted(self.left_out.items())]
        if self.strays:
            out.append(f"unlabelled, not {self.type}: {_names(self.strays)}")
        return out

    def to_json(self) -> dict[str, Any]:
        return {"folder": self.folder, "source": self.source, "classes": dict(self.classes),
                "type": self.type, "reason": self.reason, "left_out": dict(self.left_out),
                "strays": list(self.strays)}


@dataclass
class Labelling:
    """path -> label for the labelled files, and how each group came by its labels."""

    labels: dict[str, str]
    groups: list[LabelGroup]
    label_fields: dict[str, str] = field(default_factory=dict)  # dataset path -> record field

    def apply(self, records: Iterable[FileRecord]) -> list[FileRecord]:
        """`records` with their labels set (copies only where a label changes)."""
        get = self.labels.get
        return [r if r.label == get(r.path) else dataclasses.replace(r, label=get(r.path))
                for r in records]

    def to_json(self) -> list[dict[str, Any]]:
        return [g.to_json() for g in self.groups]


def infer_labels(records: Iterable[FileRecord],
                 min_class_files: int = DEFAULT_MIN_CLASS_FILES) -> Labelling:
    """Labels from class folders, by the conservative rule of the module docstring."""
    direct: dict[str, list[FileRecord]] = defaultdict(list)
    for r in records:  # rpartition, not posixpath.dirname: half the time of a 50k rescan's labels
        direct[r.path.rpartition("/")[0]].append(r)
    children: dict[str, list[str]] = defaultdict(list)
    for folder in direct:
        if folder:
            children[folder.rpartition("/")[0]].append(folder)
    labels: dict[str, str] = {}
    groups = []
    for parent in sorted(children):
        group = _infer_group(parent, sorted(children[parent]), direct, min_class_files)
        groups.append(group)
        for sub in group.classes:
            folder = posixpath.join(parent, sub)
            for r in direct[folder]:
                if r.type == group.type:
                    labels[r.path] = sub
    return Labelling(labels, groups)


def _infer_group(parent: str, folders: list[str], direct: dict[str, list[FileRecord]],
                 min_class_files: int) -> LabelGroup:
    """The classes of `parent`'s subfolders, or why they are none."""
    dominant: dict[str, tuple[str, int]] = {}
    left_out: dict[str, str] = {}
    for folder in folders:
        name = posixpath.basename(folder)
        counts = Counter(r.type for r in direct[folder])
        type_, n = counts.most_common(1)[0]
        dominant[name] = (type_, n)
        if not folder_labelled(type_):
            why = "which no model reads" if type_ == "unknown" else "labelled by their fields"
            left_out[name] = f"mostly {type_} ({n} of {sum(counts.values())} files), {why}"
        elif n < min_class_files:
            left_out[name] = f"{n} {type_} file{'s' if n != 1 else ''}, fewer than " \
                             f"min_class_files={min_class_files}"
    shown = parent or "."
    if all(not folder_labelled(t) for t, _ in dominant.values()):
        return LabelGroup(shown, "inferred", reason="its subfolders hold records or files no "
                          "model reads, not class files", left_out=left_out)
    by_type: dict[str, list[str]] = defaultdict(list)
    for name, (type_, _) in dominant.items():
        if name not in left_out:
            by_type[type_].append(name)
    if not by_type:
        return LabelGroup(shown, "inferred", reason="no subfolder holds enough files of one "
                          "type to be a class", left_out=left_out)
    type_, names = max(by_type.items(), key=lambda kv: (len(kv[1]), sum(dominant[n][1] for n in kv[1])))
    for other, others in by_type.items():
        for name in others:
            if other != type_:
                left_out[name] = f"mostly {other}, its siblings mostly {type_}"
    if len(names) < 2:
        return LabelGroup(shown, "inferred", type=type_, left_out=left_out,
                          reason=f"only one subfolder ({names[0]}) qualifies: a class needs a "
                                 "sibling class")
    strays = tuple(sorted(r.path for name in names for r in direct[posixpath.join(parent, name)]
                          if r.type != type_))
    classes = {name: dominant[name][1] for name in sorted(names)}
    return LabelGroup(shown, "inferred", classes, type_,
                      f"{len(names)} sibling folders of {type_} files, each with at least "
                      f"{min_class_files}", left_out, strays)


def preset_labels(records: list[FileRecord], settings: "PresetModel",
                  data_root: Path | None = None) -> Labelling:
    """Labels as the preset's dataset entries declare them; an entry without `labels`
    (or `labels: infer`) gets `infer_labels` over its files with the preset's
    `min_class_files`. A file belongs to the first entry that selects it."""
    by_selector: dict[int, list[FileRecord]] = defaultdict(list)
    for r in records:
        sel = selector_for(r, settings.datasets)
        if sel is not None:
            by_selector[id(sel)].append(r)
    labels: dict[str, str] = {}
    groups: list[LabelGroup] = []
    fields: dict[str, str] = {}
    for sel in settings.datasets:
        chosen = by_selector.get(id(sel), [])
        base = sel.path.strip("/") or "."
        declared = sel.labels
        if declared == "infer":
            part = infer_labels(chosen, settings.min_class_files)
        elif declared == "none":
            part = Labelling({}, [LabelGroup(base, "none", reason="the preset declares "
                                             "`labels: none`")])
        elif declared == "subfolders":
            part = subfolder_labels(chosen, base)
        elif getattr(declared, "file", None):
            part = file_labels(chosen, base, declared.file, data_root)
        else:
            name = declared.field
            fields[base] = name
            part = Labelling({}, [LabelGroup(base, "field", reason=f"records take their "
                                             f"label from field {name!r}")])
        labels.update(part.labels)
        groups += part.groups
    return Labelling(labels, groups, fields)


def subfolder_labels(records: Iterable[FileRecord], base: str) -> Labelling:
    """`labels: subfolders`: the first folder below `base` is the label of every file under
    it (however deep, as Keras and torchvision read it); records keep field labels."""
    prefix = "" if base == "." else base + "/"
    labels: dict[str, str] = {}
    strays = []
    for r in records:
        rest = r.path[len(prefix):] if r.path.startswith(prefix) else None
        if rest is None or "/" not in rest:
            continue
        if folder_labelled(r.type):
            labels[r.path] = rest.split("/", 1)[0]
        else:
            strays.append(r.path)
    classes = dict(sorted(Counter(labels.values()).items()))
    return Labelling(labels, [LabelGroup(base, "subfolders", classes, None,
                                         "the preset declares `labels: subfolders`",
                                         strays=tuple(sorted(strays)))])


def file_labels(records: Iterable[FileRecord], base: str, labels_file: str,
                data_root: Path | None) -> Labelling:
    """`labels: {file: labels.csv}`: a CSV in the dataset folder, path (relative to that
    folder) then label per row, optionally under a header naming the two columns."""
    if data_root is None:
        raise DataError(f"datasets[{base!r}].labels.file {labels_file!r}: no data root to "
                        "read it from")
    folder = Path(data_root) if base == "." else Path(data_root) / base
    path = folder / labels_file
    mapping = read_labels_file(path)
    prefix = "" if base == "." else base + "/"
    present = {r.path: r for r in records}
    labels, missing = {}, []
    for rel, label in mapping.items():
        full = prefix + str(PurePosixPath(rel))
        if full in present:
            labels[full] = label
        elif full != prefix + labels_file:
            missing.append(full)
    if missing:
        log.warning("%s names %d files that are not in the data folder: %s", path,
                    len(missing), _names(missing))
    classes = dict(sorted(Counter(labels.values()).items()))
    reason = f"labels from {labels_file} ({len(mapping)} rows" + (
        f", {len(missing)} naming absent files)" if missing else ")")
    return Labelling(labels, [LabelGroup(base, "file", classes, None, reason)])


def read_labels_file(path: Path) -> dict[str, str]:
    """path -> label of a two-column CSV (header optional)."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = [row for row in csv.reader(fh) if row and any(c.strip() for c in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"labels file {str(path)!r} cannot be read: {e}") from e
    if not rows:
        raise DataError(f"labels file {str(path)!r} is empty; expected rows of path,label")
    path_col, label_col = 0, 1
    header = [c.strip().lower() for c in rows[0]]
    if any(c in _PATH_COLUMNS for c in header) and any(c in _LABEL_COLUMNS for c in header):
        path_col = next(i for i, c in enumerate(header) if c in _PATH_COLUMNS)
        label_col = next(i for i, c in enumerate(header) if c in _LABEL_COLUMNS)
        rows = rows[1:]
    out = {}
    for i, row in enumerate(rows, 1):
        if len(row) <= max(path_col, label_col):
            raise DataError(f"labels file {str(path)!r}, row {i}: {row!r}; expected path,label")
        if row[label_col].strip():
            out[row[path_col].strip()] = row[label_col].strip()
    return out


def drop_small_classes(files: list[FileRecord], min_class_files: int,
                       model: str = "") -> tuple[list[FileRecord], dict[str, list[str]]]:
    """`files` without those of folder-labelled classes holding fewer than
    `min_class_files` files, and those classes (label -> paths), logged as a warning."""
    counts = Counter(r.label for r in files if r.label is not None and folder_labelled(r.type))
    small = {label for label, n in counts.items() if n < min_class_files}
    if not small:
        return files, {}
    dropped: dict[str, list[str]] = {label: [] for label in sorted(small)}
    kept = []
    for r in files:
        if r.label in small and folder_labelled(r.type):
            dropped[r.label].append(r.path)
        else:
            kept.append(r)
    for label, paths in dropped.items():
        log.warning("%sclass %r dropped: %d file%s, fewer than min_class_files=%d: %s",
                    f"{model}: " if model else "", label, len(paths), "s" * (len(paths) != 1),
                    min_class_files, _names(paths))
    return kept, dropped


def _names(paths: Iterable[str]) -> str:
    paths = list(paths)
    more = f" (+{len(paths) - _SHOWN} more)" if len(paths) > _SHOWN else ""
    return ", ".join(paths[:_SHOWN]) + more


def label_options(settings: "PresetModel", model: str) -> dict[str, Any]:
    """A loader's options for `model`: the table column and the record field holding the
    label (`models.<model>.target_column`/`fields` first, else a dataset entry's
    `labels: {field: NAME}`)."""
    overrides = settings.models.get(model)
    declared = next((sel.labels.field for sel in settings.datasets
                     if getattr(sel.labels, "field", None)), None)
    options: dict[str, Any] = {
        "target_column": (overrides.target_column if overrides else None) or declared}
    if declared:
        fields = dict((overrides.fields if overrides else None) or {})
        options["fields"] = {"label": declared, **fields}
    return options
