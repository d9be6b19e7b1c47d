"""Loaders for the concept models' JSON records: environment, strategy and feature rows.

Splits are per record, from a hash of its content (`records.split_of` on
`records.canonical_key`), so the same record keeps its split however the files are cut.
"""
from __future__ import annotations

import json
from typing import Any

import numpy as np

from training_lib.data.dataset import Dataset
from training_lib.data.loaders.json_records import read_records
from training_lib.data.loaders.numeric import common_shape, numbers, numeric_dataset
from training_lib.data.loaders.registry import LoadRequest, register_loader
from training_lib.errors import NoDataForModel


@register_loader("environment", kinds=("records:environment",))
def environment(req: LoadRequest) -> Dataset:
    """{"state_before", "action", "state_after"} -> x = state_before + action, y = state_after.

    A numeric action (a number or a list of numbers) is used as is; any other action is
    one-hot encoded over the actions seen.
    """
    found = read_records(req, "environment")
    raw = []
    for split, r in found.items:
        before, after = numbers(r["state_before"]), numbers(r["state_after"])
        if before is None or after is None:
            continue
        raw.append((split, before, after, r["action"]))
    if not raw:
        raise found.no_match(req.model, "numeric {state_before, action, state_after} records")
    encoded, action_names = _encode_actions([action for *_, action in raw])
    rows = common_shape([(s, b, a, act) for (s, b, a, _), act in zip(raw, encoded)], (1, 2, 3),
                         req.model, "environment")
    n_state = len(rows[0][1])
    data = [(s, np.asarray(b + act, np.float32), np.asarray(a, np.float32))
            for s, b, a, act in rows]
    names = [f"state_before[{i}]" for i in range(n_state)] + list(action_names)
    return numeric_dataset(req, data, None, {"feature_names": names, "n_outputs": len(rows[0][2]),
                                             "task": "regression", **found.info()})


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


@register_loader("strategy", kinds=("records:strategy",))
def strategy(req: LoadRequest) -> Dataset:
    """{"context": [numbers] | {name: number}, "strategy": name} -> context in, strategy out."""
    found = read_records(req, "strategy")
    raw = []
    for split, r in found.items:
        context = numbers(r["context"])
        if context is None or r["strategy"] in (None, ""):
            continue
        raw.append((split, context, str(r["strategy"])))
    if not raw:
        raise found.no_match(req.model, "numeric {context, strategy} records")
    raw = common_shape(raw, (1,), req.model, "strategy")
    classes = sorted({label for *_, label in raw})
    if len(classes) < 2:
        raise NoDataForModel(f"{req.model}: {len(raw)} numeric {{context, strategy}} records of "
                             f"{len(classes)} strategies; a classifier needs at least 2")
    data = [(s, np.asarray(c, np.float32), classes.index(label)) for s, c, label in raw]
    return numeric_dataset(req, data, classes, {"task": "classification", **found.info()})


@register_loader("features", kinds=("records:features",))
def features(req: LoadRequest) -> Dataset:
    """{"features": [numbers]} -> an autoencoder's rows: y is x."""
    found = read_records(req, "features")
    raw = [(s, numbers(r["features"])) for s, r in found.items]
    raw = [(s, f) for s, f in raw if f is not None]
    if not raw:
        raise found.no_match(req.model, "numeric {features} records")
    raw = common_shape(raw, (1,), req.model, "features")
    data = [(s, np.asarray(f, np.float32), np.asarray(f, np.float32)) for s, f in raw]
    return numeric_dataset(req, data, None, {"task": "autoencoder", **found.info()})
