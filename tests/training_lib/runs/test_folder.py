"""RunFolder / RoundFolder: every file of a run has one accessor, rounds come in number
order, and each model's newest finished round wins."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from training_lib.runs.folder import RoundFolder, RunFolder


def test_accessors_name_the_files_of_the_documented_layout(tmp_path):
    run = RunFolder(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in (
        run.config, run.scan, run.records, run.validation_dir, run.validation, run.routing,
        run.manifest("math_model"), run.plan, run.incremental, run.evaluation, run.registry,
        run.mlflow, run.faults, run.report_dir, run.knowledge(2))] == [
        "config.json", "scan.json", "records.jsonl", "validation", "validation.json",
        "routing.json", "manifests/math_model.json", "plan.json", "incremental.json",
        "evaluation.json", "registry.json", "mlflow.json", "faults.jsonl", "report",
        "knowledge/round_2"]
    r = run.round("math_model", 3)
    assert (r.model, r.index, r.label) == ("math_model", 3, "math_model/round_3")
    assert [p.relative_to(r.path).as_posix() for p in (
        r.checkpoints, r.result, r.heartbeat, r.metrics, r.system, r.anomalies, r.model_file,
        r.dataset_keys, r.dataset_summary, r.collaboration)] == [
        "checkpoints", "result.json", "heartbeat.json", "metrics.jsonl", "system.jsonl",
        "anomalies.jsonl", "model.keras", "dataset_keys.json", "dataset.json",
        "collaboration.json"]
    assert r.path == tmp_path / "models" / "math_model" / "round_3"


def _finish(folder: RoundFolder, metric: float) -> None:
    folder.path.mkdir(parents=True)
    folder.result.write_text(json.dumps({"test_metric": metric}))


def test_rounds_are_in_number_order_and_the_newest_result_wins(tmp_path):
    run = RunFolder(tmp_path)
    for k in (1, 2, 10):
        _finish(run.round("logic_model", k), metric=k / 10)
    run.round("math_model", 1).path.mkdir(parents=True)  # started, never finished
    (run.models_dir / "logic_model" / "notes").mkdir()  # not a round
    assert [(f.model, f.index) for f in run.rounds()] == [
        ("logic_model", 1), ("logic_model", 2), ("logic_model", 10), ("math_model", 1)]
    assert [f.index for f in run.rounds("logic_model")] == [1, 2, 10]
    assert run.models() == ["logic_model", "math_model"]
    assert run.newest_results() == {"logic_model": {"test_metric": 1.0}}  # round_10, not 2


def test_an_empty_run_folder_has_no_rounds_and_no_results(tmp_path):
    run = RunFolder(tmp_path / "not-yet")
    assert run.rounds() == [] and run.models() == [] and run.newest_results() == {}
    assert run.knowledge_rounds() == []
    assert run.round("x").read_result() is None and run.round("x").read_heartbeat() is None


def test_a_torn_heartbeat_reads_as_none_but_a_torn_result_is_an_error(tmp_path):
    folder = RunFolder(tmp_path).round("logic_model")
    folder.path.mkdir(parents=True)
    folder.heartbeat.write_text('{"step": 4')  # being replaced by the training process
    assert folder.read_heartbeat() is None
    folder.result.write_text('{"test_metric"')  # written atomically: this is damage
    with pytest.raises(ValueError):
        folder.read_result()


def test_knowledge_rounds_come_in_number_order(tmp_path):
    run = RunFolder(tmp_path)
    for k in (10, 2, 1):
        run.knowledge(k).mkdir(parents=True)
    assert [k for k, _ in run.knowledge_rounds()] == [1, 2, 10]
    assert run.knowledge_rounds()[0][1] == Path(tmp_path) / "knowledge" / "round_1"
