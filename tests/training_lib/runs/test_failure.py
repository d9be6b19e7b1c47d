"""failure.json: the first task that failed the run for good names the cause, once, in one
line; run_problems leads with it and does not count models that never started as failed."""
from __future__ import annotations

from training_lib.errors import DataFolderError
from training_lib.runs.context import start_run
from training_lib.runs.failure import failure_line, one_line, read_failure, record_failure
from training_lib.runs.outcome import run_problems


def test_the_first_failure_wins_and_reads_as_one_line(tmp_path):
    ctx = start_run("failure_test", "f-1", "quick_start", {"data_folder": str(tmp_path)})
    assert read_failure(ctx.run_dir) is None
    first = record_failure(ctx.run_dir, "scan_data",
                           DataFolderError("data folder '/x' does not exist;\n  pass another"))
    later = record_failure(ctx.run_dir, "evaluate", "run failed at scan_data: ...")
    assert later == first == read_failure(ctx.run_dir)
    assert first["error"] == "DataFolderError"
    assert failure_line(first) == ("run failed at scan_data: data folder '/x' does not exist; "
                                   "pass another")


def test_one_line_joins_lines_and_caps_the_length():
    assert one_line("a\n\n  b  \nc") == "a; b; c"
    assert len(one_line("x" * 5000)) == 600


def test_problems_lead_with_the_failure_and_leave_not_started_models_out(tmp_path):
    ctx = start_run("failure_test", "f-2", "quick_start", {"data_folder": str(tmp_path)})
    record_failure(ctx.run_dir, "validate_data", "critical data check failed on '/d'")
    assert run_problems(ctx) == ["run failed at validate_data: critical data check failed "
                                 "on '/d'"]  # no "evaluate did not finish" on top
    ctx.write_json(ctx.folder.evaluation, {
        "a": {"status": "not started", "reason": "run failed at validate_data"}})
    assert run_problems(ctx) == ["run failed at validate_data: critical data check failed "
                                 "on '/d'"]  # and no "models failed to train: a"


def test_models_that_never_started_without_a_failure_are_named(tmp_path):
    ctx = start_run("failure_test", "f-3", "quick_start", {"data_folder": str(tmp_path)})
    ctx.write_json(ctx.folder.evaluation, {"a": {"status": "not started"},
                                           "b": {"status": "failed"}})
    ctx.write_json(ctx.folder.registry, {})
    assert run_problems(ctx) == ["models failed to train: b", "models not started: a"]
