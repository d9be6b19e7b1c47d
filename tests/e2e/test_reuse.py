"""Two `dag.test()` runs of quick_start on the same tiny data: the second trains nothing,
reuses the three registered versions, registers none and says so in its report."""
from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow


def test_a_second_run_on_unchanged_inputs_reuses_every_model(tiny_data, airflow_db):
    from tlib_airflow.dag_builder import build_dag
    from training_lib.config import load_preset
    from training_lib.registry import client
    from training_lib.runs.context import run_dir_for
    from training_lib.runs.folder import RunFolder

    dag = build_dag(load_preset("quick_start"))
    conf = {"data_folder": str(tiny_data), "epochs": 2}
    # forced: another test of this session may have trained quick_start on the same data
    first = dag.test(run_conf={**conf, "force_retrain": True})
    models = ("vision_service", "math_model", "logic_model")
    versions = {m: len(client.search_versions(m)) for m in models}
    # explicit: dag.test() keeps the previous run_conf's values as the Params' defaults
    second = dag.test(run_conf={**conf, "force_retrain": False})
    tis = {ti.task_id: ti for ti in second.get_task_instances()}
    states = {k: str(getattr(ti.state, "value", ti.state)) for k, ti in tis.items()}
    assert set(states.values()) == {"success"}, states
    durations = {m: (tis[f"{m}.train"].end_date - tis[f"{m}.train"].start_date).total_seconds()
                 for m in models}
    print("train task seconds of the reusing run:", durations)

    registry = json.loads(RunFolder(run_dir_for("quick_start", first.run_id)).registry.read_text())
    run = RunFolder(run_dir_for("quick_start", second.run_id))
    evaluation = json.loads(run.evaluation.read_text())
    for model in models:
        line = f"reused v{registry[model]['version']} from run {first.run_id}"
        assert evaluation[model]["reused"] == line
        assert not run.round(model).metrics.exists()  # no training happened
        assert len(client.search_versions(model)) == versions[model]  # nothing registered
    assert f"reused v{registry['logic_model']['version']} from run" in \
        (run.report_dir / "report.html").read_text()
