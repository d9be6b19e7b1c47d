"""New data is measured against the data the champion was trained on (its run folder),
with the last incremental run as the fallback, and no baseline without a champion."""
from __future__ import annotations

import json
import shutil
import uuid

from training_lib.incremental import baseline
from training_lib.incremental.snapshot import load_snapshot, save_snapshot
from training_lib.incremental.step import detect_new_data
from training_lib.runs.outcome import incremental_skip_reason

from tests.fixtures.incremental_runs import champion_trained_on as _champion_trained_on
from tests.fixtures.incremental_runs import incremental_night as _night


def test_first_night_only_files_the_champion_did_not_see_are_new(tmp_path):
    model, trained = _champion_trained_on(tmp_path, ["aaa", "bbb", "ccc"])
    dag = f"incr_{uuid.uuid4().hex[:6]}"
    assert load_snapshot(dag) is None  # no earlier incremental run
    same = _night(tmp_path, dag, "n-1", model, ["aaa", "bbb", "ccc"])
    summary = detect_new_data(same)
    assert summary["proceed"] is False and summary["models_with_new_data"] == []
    entry = summary["models"][model]
    assert entry["source"] == "champion" and entry["champion_version"] == "1"
    assert f"run full_training / {trained.run_id}, 3 files" in entry["note"]
    assert incremental_skip_reason(same, model).startswith(f"{model}: no new data")

    grown = _night(tmp_path, dag, "n-2", model, ["aaa", "bbb", "ccc", "ddd", "eee"])
    summary = detect_new_data(grown)
    assert summary["proceed"] is True and summary["new_files_per_model"] == {model: 2}
    assert summary["models"][model]["keys_file"] == str(trained.round(model, 1).dataset_keys)
    assert incremental_skip_reason(grown, model) is None


def test_new_files_judged_by_the_last_run_wait_for_newer_ones(tmp_path):
    model, _ = _champion_trained_on(tmp_path, ["aaa"])
    dag = f"incr_{uuid.uuid4().hex[:6]}"
    night = _night(tmp_path, dag, "n-1", model, ["aaa", "bbb"])
    assert detect_new_data(night)["new_files_per_model"] == {model: 1}
    save_snapshot(night, ["aaa", "bbb"], [model])  # the night judged bbb (champion kept)
    again = _night(tmp_path, dag, "n-2", model, ["aaa", "bbb"])
    summary = detect_new_data(again)
    assert summary["proceed"] is False
    assert "were judged by run n-1; nothing newer" in summary["models"][model]["reason"]
    more = _night(tmp_path, dag, "n-3", model, ["aaa", "bbb", "ccc"])
    # still against the champion: bbb and ccc are both new to it (the data accumulates)
    assert detect_new_data(more)["new_files_per_model"] == {model: 2}


def test_unknown_champion_data_falls_back_to_the_last_incremental_run_and_says_so(tmp_path):
    model, trained = _champion_trained_on(tmp_path, ["aaa"])
    shutil.rmtree(trained.run_dir)
    dag = f"incr_{uuid.uuid4().hex[:6]}"
    first = _night(tmp_path, dag, "n-1", model, ["aaa", "bbb"])
    summary = detect_new_data(first)
    assert summary["proceed"] is False  # nothing recorded what the champion saw
    reason = incremental_skip_reason(first, model)
    assert "champion v1's training data is unknown" in reason and "is gone" in reason
    assert "new data cannot be told from old" in reason

    keys = first.round(model, 1).dataset_keys  # as if an earlier night had trained it
    keys.parent.mkdir(parents=True)
    keys.write_text(json.dumps({"train": ["aaa"], "val": [], "test": ["bbb"]}))
    save_snapshot(first, ["aaa", "bbb"], [model])
    second = _night(tmp_path, dag, "n-2", model, ["aaa", "bbb", "ccc"])
    summary = detect_new_data(second)
    entry = summary["models"][model]
    assert entry["source"] == "snapshot" and summary["new_files_per_model"] == {model: 1}
    assert "training data is unknown" in entry["note"] and "(n-1) did not see" in entry["note"]


def test_no_champion_is_skipped_naming_the_preset_that_trains_the_model():
    base = baseline.resolve("logic_model", None, None,
                            lambda: baseline.training_presets("logic_model"))
    assert base.source == baseline.NONE
    assert base.note.startswith("logic_model: no champion version yet; incremental learning "
                                "only fine-tunes a champion: run preset logic_model_training "
                                "(10 epochs) or ")
    assert "incremental_learning" not in base.note
