"""The CLI's end summary and follow view: the run's one-line failure, models that never
started, each retry (killed at step N, resumed from checkpoint M, K steps lost), and a
retry shown as resumed, not as step 0."""
from __future__ import annotations

import json

from training_lib.runs.context import start_run
from training_lib.runs.failure import record_failure
from training_lib.runs.faults import record_fault
from training_lib.stack.follow import training_progress
from training_lib.stack.summary import summary_lines


def _lines(path, *items):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fh.write("".join(json.dumps(i) + "\n" for i in items))


def test_summary_lists_each_retry_of_a_model(tmp_path):
    ctx = start_run("summary_test", "s-1", "quick_start", {"data_folder": str(tmp_path)})
    _lines(ctx.round("logic_model").metrics,
           {"event": "start", "try": 1}, {"step": 57, "try": 1, "loss": 0.4},
           {"event": "start", "try": 2}, {"event": "resumed", "try": 2, "from_step": 40},
           {"event": "start", "try": 3}, {"event": "resumed", "try": 3, "from_step": 80})
    record_fault(ctx, model="logic_model", round=1, **{"try": 1}, host="w1", device="cpu",
                 kind="killed", step=57, signal=9, error="logic_model: killed")
    record_fault(ctx, model="logic_model", round=1, **{"try": 2}, host="w2", device="cpu",
                 kind="lost", step=95, error="try 2 ended without reporting")
    ctx.write_json(ctx.folder.evaluation, {"logic_model": {
        "status": "trained", "metric": "accuracy", "test": 0.91, "baseline": 0.5}})
    lines = summary_lines("summary_test", "s-1", stack_up=False, state="success")
    at = lines.index("retries:")
    assert lines[at + 1:at + 3] == [
        "  logic_model: try 1 killed (signal 9) at step 57 on w1 (cpu); try 2 resumed from "
        "checkpoint 40, lost 17 steps",
        "  logic_model: try 2 lost at step 95 on w2 (cpu); try 3 resumed from checkpoint 80, "
        "lost 15 steps"]


def test_summary_of_a_failed_run_names_the_cause_and_the_models_not_started(tmp_path):
    ctx = start_run("summary_test", "s-2", "quick_start", {"data_folder": str(tmp_path)})
    record_failure(ctx.run_dir, "scan_data", "data folder '/nope' does not exist; pass one")
    ctx.write_json(ctx.folder.evaluation, {"math_model": {
        "status": "not started", "reason": "run failed at scan_data"}})
    lines = summary_lines("summary_test", "s-2", stack_up=False, state="failed", seconds=9)
    assert lines[:2] == ["DAG run summary_test / s-2: failed in 9s",
                         "run failed at scan_data: data folder '/nope' does not exist; pass one"]
    assert any(line.split() == ["math_model", "not", "started", "(run", "failed", "at",
                                "scan_data)"] for line in lines)
    assert not any("did not finish" in line for line in lines)


def test_follow_shows_a_retry_as_resumed_not_as_step_zero(tmp_path):
    ctx = start_run("summary_test", "s-3", "quick_start", {"data_folder": str(tmp_path)})
    folder = ctx.round("vision_service")
    _lines(folder.metrics, {"event": "start", "try": 1}, {"step": 340, "try": 1, "loss": 1})
    beat = {"step": 0, "total": 500, "time": 0, "pid": 2}
    folder.heartbeat.write_text(json.dumps(beat))  # the retry's first heartbeat
    assert training_progress(ctx.run_dir) == {"vision_service": "retry starting"}
    _lines(folder.metrics, {"event": "start", "try": 2})
    assert training_progress(ctx.run_dir) == {"vision_service": "try 2 starting"}
    _lines(folder.metrics, {"event": "resumed", "try": 2, "from_step": 300})
    folder.heartbeat.write_text(json.dumps({**beat, "step": 300}))
    assert training_progress(ctx.run_dir) == {"vision_service": "resumed at step 300/500 (try 2)"}
    folder.heartbeat.write_text(json.dumps({**beat, "step": 320}))
    assert training_progress(ctx.run_dir) == {
        "vision_service": "step 320/500 (try 2, resumed at 300)"}


def test_train_refuses_a_missing_or_empty_folder_before_triggering(tmp_path, capsys,
                                                                    monkeypatch):
    import argparse

    from training_lib.cli import train
    from training_lib.stack import control

    monkeypatch.setattr(control, "airflow_healthy",
                        lambda: (_ for _ in ()).throw(AssertionError("a run was triggered")))
    (tmp_path / "empty").mkdir()
    for name, said in (("missing", "does not exist"), ("empty", "is empty")):
        args = argparse.Namespace(preset="quick_start", data=str(tmp_path / name), epochs=None,
                                  models=None, local=False, timeout=10)
        assert train.run(args) == 2
        out = capsys.readouterr().out.strip()
        assert out == (f"train: data folder {str(tmp_path / name)!r} {said}"
                       + (" (no files below it)" if name == "empty" else "")
                       + "; pass a folder with training files (train --data DIR, or the "
                         "trigger form's data_folder)")
