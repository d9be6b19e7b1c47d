"""The table loader: CSV/TSV rows, one float32 row each, and a target column.

Splits are per row, from a hash of its cells, so a row keeps its split however the
tables are cut or merged.
"""
from __future__ import annotations

import csv
import io
import logging
import math
from typing import Any

import numpy as np

from training_lib.data.dataset import Dataset
from training_lib.data.decode import read_text
from training_lib.data.loaders.json_records import MAX_JSON_BYTES
from training_lib.data.loaders.numeric import MIN_RECORDS, numeric_dataset
from training_lib.data.loaders.registry import LoadRequest, register_loader
from training_lib.data.loaders.splits import split_fractions
from training_lib.data.records import canonical_key, split_of
from training_lib.errors import NoDataForModel

log = logging.getLogger(__name__)

MAX_CLASS_VALUES = 20  # integer targets with at most this many values are class labels
MAX_CATEGORIES = 20  # text feature columns with more distinct values are dropped


@register_loader("tables", kinds=("tabular",))
def tables(req: LoadRequest) -> Dataset:
    """CSV/TSV rows -> standardized-in-model features and the target column.

    The target is `options["target_column"]` (default "target"). Of the tables holding
    it, those with the same columns as the largest one are used together. A text
    target or an integer one with few values makes a classification task, any other
    number a regression task (`info["task"]`). Numeric columns are features (missing
    cells get the training mean); text columns with few values are one-hot encoded.
    """
    target = req.options.get("target_column") or "target"
    groups: dict[tuple[str, ...], list[tuple[str, list[str]]]] = {}
    for rec in sorted(req.records, key=lambda r: r.path):
        if rec.type != "tabular":
            continue
        try:
            header, body = _read_table(req.data_root / rec.path, rec.meta.get("delimiter"),
                                       rec.format, rec.meta.get("encoding"))
        except (OSError, UnicodeDecodeError, csv.Error, ValueError) as e:
            log.warning("skipping %s: %s", rec.path, e)
            continue
        if target not in header:
            log.info("%s: %s has no column %r; not used", req.model, rec.path, target)
            continue
        groups.setdefault(tuple(header), []).extend((rec.path, row) for row in body)
    if not groups:
        raise NoDataForModel(f"{req.model}: no table with a column {target!r} among "
                             f"{len(req.records)} files")
    header, body = max(groups.items(), key=lambda kv: len(kv[1]))
    for other, rows in groups.items():
        if other != header:
            log.info("%s: %d rows of a table with other columns left out (%s...)", req.model,
                     len(rows), ", ".join(other[:4]))
    index = header.index(target)
    seen: set[str] = set()
    cells: list[tuple[str, list[str], str]] = []
    for _path, row in body:
        if len(row) != len(header) or not row[index].strip():
            continue
        key = canonical_key(row)
        if key in seen:
            continue
        seen.add(key)
        cells.append((split_of(key, split_fractions(req.settings)), row, row[index].strip()))
    cap = req.settings.max_samples_per_model
    cells = cells[:cap] if cap else cells
    if len(cells) < MIN_RECORDS:
        raise NoDataForModel(f"{req.model}: {len(cells)} usable rows with a {target!r} value, "
                             f"needs at least {MIN_RECORDS}")
    columns = [i for i in range(len(header)) if i != index]
    encoders = [_column_encoder(header[i], [row[i] for s, row, _ in cells if s == "train"])
                for i in columns]
    names = [name for enc in encoders if enc for name in enc[0]]
    if not names:
        raise NoDataForModel(f"{req.model}: no usable feature column besides {target!r}")
    x = np.asarray([[v for enc, i in zip(encoders, columns) if enc for v in enc[1](row[i])]
                    for _, row, _ in cells], dtype=np.float32)
    train = np.asarray([s == "train" for s, _, _ in cells])
    means = np.nanmean(x[train], axis=0) if train.any() else np.zeros(x.shape[1])
    x = np.where(np.isnan(x), np.nan_to_num(means)[None, :], x).astype(np.float32)
    task, classes, y = _target(cells, req.model)
    rows = [(s, xi, yi) for (s, _, _), xi, yi in zip(cells, x, y)]
    info = {"task": task, "target_column": target, "feature_names": names,
            "columns": list(header)}
    return numeric_dataset(req, rows, classes, info)


def _read_table(path: Any, delimiter: str | None, fmt: str,
                encoding: str | None = None) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of a table, decoded as the scan judged it (`decode.read_text`)."""
    if path.stat().st_size > MAX_JSON_BYTES:
        raise ValueError(f"larger than {MAX_JSON_BYTES} bytes, not loaded")
    text = read_text(path, encoding)
    if not delimiter:
        delimiter = "\t" if fmt == "tsv" else csv.Sniffer().sniff(text[:4096], ",;\t|").delimiter
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip() for h in next(reader, [])]
    if not header:
        raise ValueError("no header row")
    return header, [row for row in reader if row]


def _column_encoder(name: str, train_values: list[str]) -> tuple[list[str], Any] | None:
    """(feature names, cell -> list of floats) for one column, or None to drop it."""
    filled = [v.strip() for v in train_values if v.strip()]
    if not filled:
        return None
    numeric = sum(_float(v) is not None for v in filled)
    if numeric >= 0.95 * len(filled):
        return [name], lambda v: [_float(v.strip()) if _float(v.strip()) is not None else np.nan]
    values = sorted(set(filled))
    if len(values) > MAX_CATEGORIES:
        log.info("column %r: %d distinct text values, dropped", name, len(values))
        return None
    return ([f"{name}={v}" for v in values],
            lambda v: [1.0 if v.strip() == c else 0.0 for c in values])


def _float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _target(cells: list[tuple[str, list[str], str]],
            model: str) -> tuple[str, list[str] | None, list]:
    values = [t for _, _, t in cells]
    as_numbers = [_float(v) for v in values]
    if all(v is not None for v in as_numbers):
        distinct = set(as_numbers)
        if all(float(v).is_integer() for v in distinct) and len(distinct) <= MAX_CLASS_VALUES:
            classes = [f"{v:g}" for v in sorted(distinct)]
            return "classification", classes, [classes.index(f"{v:g}") for v in as_numbers]
        return "regression", None, [np.float32(v) for v in as_numbers]
    classes = sorted(set(values))
    if len(classes) > max(MAX_CLASS_VALUES, len(values) // 5):
        raise NoDataForModel(f"{model}: the target has {len(classes)} distinct text values "
                             f"in {len(values)} rows: not a class label")
    if len(classes) < 2:
        raise NoDataForModel(f"{model}: the target has a single value {classes[0]!r}: "
                             "nothing to learn")
    return "classification", classes, [classes.index(v) for v in values]
