"""The worker's incremental steps: too few new test rows -> waiting (nothing trained, the
snapshot keeps the new files new, the report says so); judging on the same rows."""
from __future__ import annotations

import json
import uuid

import numpy as np

from training_lib.data.dataset import Dataset
from training_lib.incremental import finetune
from training_lib.incremental.snapshot import load_snapshot, save_snapshot
from training_lib.incremental.step import (PRIVATE_KEYS, PRIVATE_ROWS, detect_new_data,
                                           judge_finetune, prepare_finetune)
from training_lib.reports.build import incremental_summary
from training_lib.reports.html import _incremental
from training_lib.runs.outcome import incremental_skip_reason, model_results

from tests.fixtures.incremental_runs import champion_trained_on as _champion_trained_on
from tests.fixtures.incremental_runs import incremental_night as _night


def _dataset(model: str, n_old_test: int, n_new_test: int) -> Dataset:
    rng = np.random.default_rng(0)
    sizes = {"train": 50, "val": 5, "test": n_old_test + n_new_test}
    x = {s: rng.normal(size=(n, 4)).astype("float32") for s, n in sizes.items()}
    y = {s: (v[:, 0] > 0).astype("int32") for s, v in x.items()}
    keys = {"train": [f"old-train-{i}" for i in range(40)] + [f"new-train-{i}" for i in range(10)],
            "val": [f"old-val-{i}" for i in range(5)],
            "test": [f"old-test-{i}" for i in range(n_old_test)] +
                    [f"new-test-{i}" for i in range(n_new_test)]}
    return Dataset(model, x, y, ["neg", "pos"], {}, [], keys)


class _Oracle:
    """Predicts the label rule itself (a model at the ceiling)."""

    def predict(self, x, batch_size=None, verbose=0):
        return np.eye(2)[(x[:, 0] > 0).astype(int)]


def _incremental_night(tmp_path, model: str, dag: str, run_id: str, data: Dataset):
    """An incremental run whose detection found the champion's baseline; the champion's
    keys are the dataset's old-* keys."""
    ctx = _night(tmp_path, dag, run_id, model, ["aaa", "bbb"])
    detect_new_data(ctx)
    entry = ctx.read_json(ctx.folder.incremental)["models"][model]
    old = [k for split in data.keys.values() for k in split if k.startswith("old-")]
    with open(entry["keys_file"], "w") as fh:
        json.dump({"train": old, "val": [], "test": []}, fh)
    return ctx


def test_22_new_test_rows_wait_for_more_data_and_the_snapshot_is_not_advanced(tmp_path):
    model, _ = _champion_trained_on(tmp_path, ["aaa"])
    dag = f"incr_{uuid.uuid4().hex[:6]}"
    data = _dataset(model, n_old_test=60, n_new_test=22)
    ctx = _incremental_night(tmp_path, model, dag, "n-1", data)
    tuned, info = prepare_finetune(ctx, model, "classification", data, _Oracle())
    assert tuned is data  # nothing cut, nothing trained
    assert info["mode"] == "waiting" and info["counts"] == {"old_test": 60, "new_test": 22}
    assert info["reason"] == f"{model}: 22 new test rows < 30: waiting for more new data"

    # the worker writes this instead of a trained result; the stage skips the task
    result = ctx.round(model, 1).result
    ctx.write_json(result.relative_to(ctx.run_dir), {"model": model, "round": 1,
                                                     "untrained": "waiting", "incremental": info})
    assert model_results(ctx) == {}
    assert incremental_skip_reason(ctx, model) == info["reason"]
    save_snapshot(ctx, ["aaa", "bbb"], list(model_results(ctx)))
    assert model not in load_snapshot(dag)["model_files"]  # bbb was not judged
    later = _night(tmp_path, dag, "n-2", model, ["aaa", "bbb"])
    assert detect_new_data(later)["new_files_per_model"] == {model: 1}  # still new

    section = _incremental(incremental_summary(ctx, model_results(ctx)))
    assert "22 new test rows &lt; 30: waiting for more new data" in section


def test_a_champion_at_the_ceiling_and_an_unchanged_candidate_need_no_change(tmp_path):
    model, _ = _champion_trained_on(tmp_path, ["aaa"])
    data = _dataset(model, n_old_test=60, n_new_test=40)
    ctx = _incremental_night(tmp_path, model, f"incr_{uuid.uuid4().hex[:6]}", "n-1", data)
    old_keys = {k for split in data.keys.values() for k in split if k.startswith("old-")}
    champion = finetune.row_outcomes("classification", _Oracle(), ["neg", "pos"], data, old_keys)
    info = {"mode": "finetune", "champion_version": "1", PRIVATE_KEYS: old_keys,
            PRIVATE_ROWS: champion}
    judged = judge_finetune(ctx, "classification", _Oracle(), data, info, metric="accuracy")
    assert judged["verdict"] == "no change needed" and judged["accepted"] is False
    assert judged["after"] == {"old": 1.0, "new": 1.0, "n_old": 60, "n_new": 40}
    assert judged["record"]["new"]["n"] == 40 and judged["record"]["new"]["p_value"] == 1.0
    assert not any(k.startswith("_") for k in judged)  # nothing in-process is saved
    json.dumps(judged)  # result.json must be able to hold it
