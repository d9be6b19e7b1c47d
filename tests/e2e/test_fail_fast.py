"""`dag.test()` of quick_start on a data folder that does not exist: scan_data fails on its
first try (no retries), the report is still written and leads with the cause, the models
are "not started", and the MLflow parent run is FAILED with the cause."""
from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow


def test_a_missing_data_folder_fails_fast_and_every_view_names_the_cause(tmp_path, airflow_db):
    from tlib_airflow.dag_builder import build_dag
    from training_lib.config import load_preset
    from training_lib.registry import tracking
    from training_lib.runs.context import run_dir_for
    from training_lib.runs.folder import RunFolder

    missing = tmp_path / "missing"
    dag_run = build_dag(load_preset("quick_start")).test(run_conf={"data_folder": str(missing)})
    tis = {ti.task_id: ti for ti in dag_run.get_task_instances()}
    state = {k: str(getattr(ti.state, "value", ti.state)) for k, ti in tis.items()}
    assert state["scan_data"] == "failed" and tis["scan_data"].try_number == 1
    assert state["render_report"] == "failed"  # ran (all_done), wrote the report, failed
    assert str(getattr(dag_run.state, "value", dag_run.state)) == "failed"

    cause = (f"run failed at scan_data: data folder {str(missing)!r} does not exist; pass a "
             "folder with training files (train --data DIR, or the trigger form's data_folder)")
    run = RunFolder(run_dir_for("quick_start", dag_run.run_id))
    report = json.loads(next(run.report_dir.glob("training_report_*.json")).read_text())
    assert report["problems"] == [cause]
    assert {r["status"] for r in report["evaluation"].values()} == {"not started"}
    parent = tracking.get_run(tracking.run_ids(run.path)["parent"])
    assert parent.info.status == "FAILED"
    assert parent.data.tags["failure.task"] == "scan_data"
    assert parent.data.tags["mlflow.note.content"] == cause
