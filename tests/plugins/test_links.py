"""The render_report task carries a "Run report" extra link: serialized with the DAG (so the
UI shows it), computed when the task ends from the report's links.json."""
from __future__ import annotations

import json
from types import SimpleNamespace

from tlib_airflow.links import ReportLink


def test_render_report_has_the_report_link_in_the_serialized_dag():
    from airflow.serialization.serialized_objects import DagSerialization

    from tlib_airflow.dag_builder import build_dag
    from training_lib.config import load_preset

    dag = build_dag(load_preset("quick_start"))
    encoded = DagSerialization.to_dict(dag)
    links = {t["__var"]["task_id"]: t["__var"].get("_operator_extra_links")
             for t in encoded["dag"]["tasks"]}
    assert links["render_report"] == {"Run report": "_link_ReportLink"}
    assert not links["evaluate"]
    decoded = DagSerialization.from_dict(encoded).get_task("render_report")
    assert [link.name for link in decoded.operator_extra_links] == ["Run report"]


def test_link_points_at_mlflow_when_logged_to_a_server_else_at_the_file(tmp_path, monkeypatch):
    from training_lib.runs.context import run_dir_for

    monkeypatch.setenv("TLIB_RUNS_DIR", str(tmp_path))
    key = SimpleNamespace(dag_id="d", run_id="manual__2026-01-01T00:00:00+00:00")
    report = run_dir_for(key.dag_id, key.run_id) / "report"
    assert ReportLink().get_link(None, ti_key=key) == ""  # no report yet
    report.mkdir(parents=True)
    (report / "links.json").write_text(json.dumps({"html": str(report / "report.html"),
                                                   "mlflow": None}))
    assert ReportLink().get_link(None, ti_key=key) == (report / "report.html").as_uri()
    url = "http://127.0.0.1:5000/#/experiments/1/runs/abc/artifacts/report/report.html"
    (report / "links.json").write_text(json.dumps({"html": str(report / "report.html"),
                                                   "mlflow": url}))
    assert ReportLink().get_link(None, ti_key=key) == url
