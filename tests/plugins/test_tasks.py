"""Task callables through their functions with a real run folder: a cause no retry can fix
(missing/empty data folder) fails the task at once (AirflowFailException), is recorded in
failure.json and named by the later tasks; anything else keeps its retries."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest


def _context(dag_id: str, run_id: str, task_id: str) -> dict:
    return {"dag": SimpleNamespace(dag_id=dag_id), "run_id": run_id, "params": {},
            "ti": SimpleNamespace(try_number=1, task_id=task_id)}


@pytest.mark.parametrize("make, cause", [
    (lambda p: p / "missing", "does not exist"),
    (lambda p: (p / "empty").mkdir() or p / "empty", "is empty"),
])
def test_a_missing_or_empty_folder_fails_without_retry_and_later_tasks_name_it(
        tmp_path, make, cause):
    from airflow.sdk.exceptions import AirflowFailException

    from tlib_airflow import tasks
    from training_lib.runs.context import run_dir_for
    from training_lib.runs.folder import RunFolder

    folder = make(tmp_path)
    run_id = f"ff-{folder.name}"
    params = {"data_folder": str(folder)}
    scan = {**_context("ff_test", run_id, "scan_data"), "params": params}
    with pytest.raises(AirflowFailException) as raised:
        tasks.scan_data.function(preset_name="quick_start", **scan)
    line = str(raised.value)
    assert line.startswith(f"run failed at scan_data: data folder {str(folder)!r} {cause}")
    assert "\n" not in line and "train --data DIR" in line  # one line, with the fix
    run = RunFolder(run_dir_for("ff_test", run_id))
    assert json.loads(run.failure.read_text())["task"] == "scan_data"

    with pytest.raises(AirflowFailException, match="^run failed at scan_data: data folder"):
        tasks.evaluate.function(preset_name="quick_start",
                                **_context("ff_test", run_id, "evaluate"))
    evaluation = json.loads(run.evaluation.read_text())
    assert evaluation == {m: {"status": "not started", "reason": "run failed at scan_data"}
                          for m in ("vision_service", "math_model", "logic_model")}
    assert json.loads(run.failure.read_text())["task"] == "scan_data"  # first one wins


def test_an_error_that_can_heal_keeps_its_retries(tmp_path, monkeypatch):
    from airflow.sdk.exceptions import AirflowFailException

    from tlib_airflow import tasks
    from training_lib.errors import TrainingError
    from training_lib.pipeline import stages
    from training_lib.runs.context import run_dir_for
    from training_lib.runs.folder import RunFolder

    def killed(ctx, progress=None):
        raise TrainingError("scan worker killed by signal 9")

    monkeypatch.setattr(stages, "scan_data", killed)
    context = {**_context("ff_test", "heal-1", "scan_data"),
               "params": {"data_folder": str(tmp_path)}}
    with pytest.raises(TrainingError) as raised:
        tasks.scan_data.function(preset_name="quick_start", **context)
    assert not isinstance(raised.value, AirflowFailException)
    assert not RunFolder(run_dir_for("ff_test", "heal-1")).failure.exists()
