"""Loaders for numeric records: the concept models' JSON formats and CSV/TSV tables.

Every record becomes one float32 row. Splits are per record, from a hash of its
content (`records.split_of` on `records.canonical_key`), so the same record keeps
its split however the files are cut. Standardization statistics are computed on
the training split only and handed to the model in `Dataset.info` (`x_mean`,
`x_std`, `y_mean`, `y_std`); the models normalize inside, so a saved model takes
raw values.
"""
from __future__ import annotations

import csv
import io
import json
import logging
import math
from collections import Counter
from typing import Any

import numpy as np

from training_lib.data.dataset import Dataset
from training_lib.data.loaders import (LOADERS, MAX_JSON_BYTES, LoadRequest, _fractions,
                                       _split_arrays, records_of)
from training_lib.data.records import canonical_key, split_of
from training_lib.errors import NoDataForModel

log = logging.getLogger(__name__)

MIN_RECORDS = 30
MAX_CLASS_VALUES = 20  # integer targets with at most this many values are class labels
MAX_CATEGORIES = 20  # text feature columns with more distinct values are dropped


def numbers(value: Any) -> list[float] | None:
    """A number, a (nested) list of numbers or a dict of numbers as a flat list, else None."""
    if isinstance(value, bool):
        return [float(value)]
    if isinstance(value, (int, float)):
        return [float(value)] if math.isfinite(value) else None
    if isinstance(value, dict):
        value = [value[k] for k in sorted(value)]
    if isinstance(value, (list, tuple)) and value:
        out: list[float] = []
        for item in value:
            part = numbers(item)
            if part is None:
                return None
            out.extend(part)
        return out
    return None


def standardization(train: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-column mean and standard deviation of the training rows (std 1 where flat)."""
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std = np.where(std > 1e-8, std, 1.0)
    return mean.astype(float).tolist(), std.astype(float).tolist()


def _common_shape(rows: list[tuple], vectors: tuple[int, ...], model: str,
                  what: str) -> list[tuple]:
    """Keep the rows whose vectors (items at `vectors`) have the most common lengths."""
    def shape(row: tuple) -> tuple[int, ...]:
        return tuple(len(row[i]) for i in vectors)

    shapes = Counter(shape(row) for row in rows)
    if not shapes:
        return rows
    best, _ = shapes.most_common(1)[0]
    kept = [row for row in rows if shape(row) == best]
    if len(kept) < len(rows):
        log.warning("%s: %d %s records of other sizes than %s skipped", model,
                    len(rows) - len(kept), what, best)
    return kept


def _dataset(req: LoadRequest, rows: list[tuple[str, Any, Any]], classes: list[str] | None,
             info: dict[str, Any]) -> Dataset:
    x, y = _split_arrays(rows, MIN_RECORDS, req.model)
    info["x_mean"], info["x_std"] = standardization(x["train"])
    if classes is None:
        info["y_mean"], info["y_std"] = standardization(np.asarray(y["train"]).reshape(
            len(y["train"]), -1))
    info["n_features"] = int(x["train"].shape[1])
    return Dataset(req.model, x, y, classes, info, [r.content_hash for r in req.records])


# ---- concept models ---------------------------------------------------------------------
def environment(req: LoadRequest) -> Dataset:
    """{"state_before", "action", "state_after"} -> x = state_before + action, y = state_after.

    A numeric action (a number or a list of numbers) is used as is; any other action is
    one-hot encoded over the actions seen.
    """
    raw = []
    for split, r in records_of(req, "environment"):
        before, after = numbers(r["state_before"]), numbers(r["state_after"])
        if before is None or after is None:
            continue
        raw.append((split, before, after, r["action"]))
    if not raw:
        raise NoDataForModel(f"{req.model}: no numeric {{state_before, action, state_after}} "
                             "records")
    encoded, action_names = _encode_actions([action for *_, action in raw])
    rows = _common_shape([(s, b, a, act) for (s, b, a, _), act in zip(raw, encoded)], (1, 2, 3),
                         req.model, "environment")
    n_state = len(rows[0][1])
    data = [(s, np.asarray(b + act, np.float32), np.asarray(a, np.float32))
            for s, b, a, act in rows]
    names = [f"state_before[{i}]" for i in range(n_state)] + list(action_names)
    return _dataset(req, data, None, {"feature_names": names, "n_outputs": len(rows[0][2]),
                                      "task": "regression"})


def _encode_actions(actions: list[Any]) -> tuple[list[list[float]], list[str]]:
    """Numeric actions of one length as they are, anything else one-hot over those seen."""
    vectors = [numbers(a) for a in actions]
    if all(v is not None for v in vectors) and len({len(v) for v in vectors if v}) == 1:
        width = len(vectors[0] or [])
        return [v or [] for v in vectors], [f"action[{i}]" for i in range(width)]
    keys = [json.dumps(a, sort_keys=True) for a in actions]
    names = sorted(set(keys))
    return ([[1.0 if k == name else 0.0 for name in names] for k in keys],
            [f"action={name}" for name in names])


def strategy(req: LoadRequest) -> Dataset:
    """{"context": [numbers] | {name: number}, "strategy": name} -> context in, strategy out."""
    raw = []
    for split, r in records_of(req, "strategy"):
        context = numbers(r["context"])
        if context is None or r["strategy"] in (None, ""):
            continue
        raw.append((split, context, str(r["strategy"])))
    raw = _common_shape(raw, (1,), req.model, "strategy")
    classes = sorted({label for *_, label in raw})
    if len(classes) < 2:
        raise NoDataForModel(f"{req.model}: {len(raw)} numeric {{context, strategy}} records of "
                             f"{len(classes)} strategies; a classifier needs at least 2")
    data = [(s, np.asarray(c, np.float32), classes.index(label)) for s, c, label in raw]
    return _dataset(req, data, classes, {"task": "classification"})


def features(req: LoadRequest) -> Dataset:
    """{"features": [numbers]} -> an autoencoder's rows: y is x."""
    raw = [(s, numbers(r["features"])) for s, r in records_of(req, "features")]
    raw = [(s, f) for s, f in raw if f is not None]
    if not raw:
        raise NoDataForModel(f"{req.model}: no numeric {{features}} records")
    raw = _common_shape(raw, (1,), req.model, "features")
    data = [(s, np.asarray(f, np.float32), np.asarray(f, np.float32)) for s, f in raw]
    return _dataset(req, data, None, {"task": "autoencoder"})


# ---- tables -----------------------------------------------------------------------------
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
                                       rec.format)
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
        cells.append((split_of(key, _fractions(req.settings)), row, row[index].strip()))
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
    return _dataset(req, rows, classes, info)


def _read_table(path: Any, delimiter: str | None, fmt: str) -> tuple[list[str], list[list[str]]]:
    if path.stat().st_size > MAX_JSON_BYTES:
        raise ValueError(f"larger than {MAX_JSON_BYTES} bytes, not loaded")
    text = path.read_text(encoding="utf-8-sig")
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


LOADERS.update({"environment": environment, "strategy": strategy, "features": features,
                "tables": tables})
