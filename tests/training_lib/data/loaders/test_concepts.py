"""Loaders of numeric records: the concept models' JSON formats and CSV/TSV tables."""
from __future__ import annotations

import json
import random

import numpy as np
import pytest

from tests.fixtures.loader_files import record, request, write
from training_lib.data.loaders.numeric import numbers
from training_lib.data.loaders.registry import load_dataset
from training_lib.errors import NoDataForModel


def _json_records(root, rel, items, fmt):
    write(root, rel, json.dumps(items))
    return record(root, rel, "json", "json", None, record_format=fmt, n_records=len(items))


def test_numbers_flattens_lists_and_dicts_and_rejects_text():
    assert numbers([1, [2, 3.5]]) == [1.0, 2.0, 3.5]
    assert numbers({"b": 2, "a": 1}) == [1.0, 2.0]
    assert numbers(True) == [1.0]
    assert numbers("fast") is None and numbers([1, "x"]) is None and numbers([]) is None
    assert numbers(float("nan")) is None


def test_environment_joins_state_and_action_and_keeps_raw_units(tmp_path):
    root = tmp_path / "data"
    rng = random.Random(0)
    items = []
    for _ in range(120):
        x, v, a = rng.uniform(-1, 1), rng.uniform(-1, 1), rng.choice((-1, 0, 1))
        items.append({"state_before": [x, v], "action": a,
                      "state_after": [x + 0.05 * v, v + 0.1 * a]})
    items.append({"state_before": [1, 2, 3], "action": 0, "state_after": [1, 2, 3]})  # odd size
    records = [_json_records(root, "concepts/env.json", items, "environment")]
    write(root, "concepts/broken.json", b"\xff\xfe not json at all")
    records.append(record(root, "concepts/broken.json", "json", "json", None))
    data = load_dataset("environment", request("environment_simulator", root, records,
                                               tmp_path / "cache"))
    n = sum(data.size(s) for s in ("train", "val", "test"))
    assert n == 120
    assert data.x["train"].shape[1] == 3 and data.y["train"].shape[1] == 2
    assert data.info["feature_names"] == ["state_before[0]", "state_before[1]", "action[0]"]
    assert np.allclose(data.info["x_mean"], data.x["train"].mean(axis=0), atol=1e-6)
    assert np.allclose(data.info["y_std"], data.y["train"].std(axis=0), atol=1e-6)


def test_environment_one_hot_encodes_text_actions(tmp_path):
    root = tmp_path / "data"
    items = [{"state_before": [i / 50], "action": ["left", "right", "stay"][i % 3],
              "state_after": [i / 50 + (i % 3 - 1) * 0.1]} for i in range(60)]
    data = load_dataset("environment", request(
        "environment_simulator", root, [_json_records(root, "env.json", items, "environment")],
        tmp_path / "cache"))
    assert data.info["feature_names"][1:] == ['action="left"', 'action="right"', 'action="stay"']
    assert set(np.unique(data.x["train"][:, 1:])) == {0.0, 1.0}


def test_strategy_classes_and_features_autoencoder(tmp_path):
    root = tmp_path / "data"
    strategies = [{"context": [i % 7, (i * 3) % 11, i / 10],
                   "strategy": ["up", "down", "keep"][i % 3]} for i in range(90)]
    features = [{"features": [i / 80] + [((i * j) % 17) / 16 for j in range(7)]}
                for i in range(80)]
    records = [_json_records(root, "s.json", strategies, "strategy"),
               _json_records(root, "f.json", features, "features")]
    s = load_dataset("strategy", request("adaptive_learning_controller", root, records, tmp_path))
    assert s.classes == ["down", "keep", "up"] and s.x["train"].shape[1] == 3
    f = load_dataset("features", request("alpha_deep_model", root, records, tmp_path))
    assert f.x["train"].shape[1] == 8 and np.array_equal(f.x["train"], f.y["train"])
    with pytest.raises(NoDataForModel, match="needs at least 30"):
        load_dataset("features", request("alpha_deep_model", root, [
            _json_records(root, "few.json", features[:10], "features")], tmp_path))


def _table(root, rel, rows, header="size,weight,colour,target", delimiter=","):
    text = header.replace(",", delimiter) + "\n" + "\n".join(
        delimiter.join(str(c) for c in row) for row in rows) + "\n"
    write(root, rel, text)
    return record(root, rel, "tabular", "tsv" if delimiter == "\t" else "csv", None,
                  delimiter=delimiter)


def test_tables_classification_with_text_target_and_categorical_feature(tmp_path):
    root = tmp_path / "data"
    rng = random.Random(1)
    rows = []
    for i in range(80):
        kind = ["apple", "melon"][i % 2]
        size = rng.gauss(8 if kind == "apple" else 25, 2)
        weight = "" if i == 5 else f"{size * (0.1 if kind == 'apple' else 0.8):.3f}"
        rows.append((f"{size:.2f}", weight, rng.choice(["red", "green"]), kind))
    records = [_table(root, "tables/fruit.tsv", rows, delimiter="\t"),
               _table(root, "tables/other.csv", [(1, 2)] * 40, header="a,b")]  # no target
    data = load_dataset("tables", request("data_analysis_model", root, records, tmp_path))
    assert data.info["task"] == "classification" and data.classes == ["apple", "melon"]
    assert data.info["feature_names"] == ["size", "weight", "colour=green", "colour=red"]
    assert not np.isnan(np.concatenate([data.x[s] for s in ("train", "test")])).any()
    assert np.allclose(data.info["x_mean"], data.x["train"].mean(axis=0), atol=1e-5)
    every = np.concatenate([data.x[s] for s in ("train", "val", "test") if data.size(s)])
    assert not np.allclose(data.info["x_mean"], every.mean(axis=0), atol=1e-5)  # train only


def test_tables_regression_and_target_column_option(tmp_path):
    root = tmp_path / "data"
    rows = [(i, (i * 7) % 13, f"{0.5 * i + 3:.3f}", i % 4) for i in range(60)]
    records = [_table(root, "t.csv", rows, header="a,b,price,target")]
    data = load_dataset("tables", request("data_analysis_model", root, records, tmp_path,
                                          {"target_column": "price"}))
    assert data.info["task"] == "regression" and data.classes is None
    assert data.info["target_column"] == "price" and "target" in data.info["feature_names"]
    assert data.y["train"].dtype == np.float32
    few = load_dataset("tables", request("data_analysis_model", root, records, tmp_path))
    assert few.info["task"] == "classification" and few.classes == ["0", "1", "2", "3"]
    with pytest.raises(NoDataForModel, match="no table with a column 'label'"):
        load_dataset("tables", request("data_analysis_model", root, records, tmp_path,
                                       {"target_column": "label"}))


def test_arithmetic_answers_are_reversed_and_decode_back(tmp_path):
    from training_lib.data.loaders.sequences import decode_answer

    root = tmp_path / "data"
    items = [{"problem": f"{a}+{b}", "answer": str(a + b)}
             for a in range(9) for b in range(0, 90, 9)]
    records = [_json_records(root, "math.json", items, "arithmetic")]
    data = load_dataset("arithmetic", request("math_model", root, records, tmp_path))
    assert data.info["answer_reversed"] is True
    answers = {decode_answer(row, data.info) for row in data.y["train"]}
    assert answers <= {item["answer"] for item in items}
    row = data.y["train"][np.argmax([len(decode_answer(r, data.info)) for r in data.y["train"]])]
    text = decode_answer(row, data.info)
    assert data.info["vocab"][row[0] - 2] == text[-1]  # the units digit comes first


def test_concept_records_in_other_names_through_synonyms_and_fields(tmp_path):
    root = tmp_path / "data"
    env = [{"obs": [i / 40], "act": i % 2, "next_obs": [i / 40 + 0.1 * (i % 2)]} for i in range(60)]
    plans = [{"situation": [i % 5, i / 9], "choice": "up" if i % 2 else "down"} for i in range(60)]
    mine = [{"vec": [i / 50, (i % 7) / 7]} for i in range(60)]  # "vec" is no synonym
    records = [_json_records(root, "env.json", env, "environment"),
               _json_records(root, "plans.json", plans, "strategy"),
               _json_records(root, "mine.json", mine, None)]
    e = load_dataset("environment", request("environment_simulator", root, records, tmp_path))
    assert e.info["fields"] == {"state_before": "obs", "action": "act", "state_after": "next_obs"}
    s = load_dataset("strategy", request("adaptive_learning_controller", root, records, tmp_path))
    assert s.info["fields"] == {"context": "situation", "strategy": "choice"}
    assert s.classes == ["down", "up"]
    with pytest.raises(NoDataForModel, match=r"(?s)in 1 JSON file\(s\):\n  mine.json: keys "
                       r"found: vec; .*fields: \{features: vec\}"):
        load_dataset("features", request("alpha_deep_model", root, records, tmp_path))
    mapped = {"alpha_deep_model": {"fields": {"features": "vec"}}}
    f = load_dataset("features", request("alpha_deep_model", root, records, tmp_path,
                                         models=mapped))
    assert f.info["fields"] == {"features": "vec"} and f.x["train"].shape[1] == 2
