"""training_report_<run>.json validates against its schema (and a broken one does not);
`python -m training_lib report RUN` rebuilds everything from the run store."""
from __future__ import annotations

import copy
import json

import jsonschema
import pytest

from training_lib.cli import main
from training_lib.errors import ReportError
from training_lib.reports.schema import SCHEMA_PATH, report_errors, validate_report


def test_report_validates_and_holds_what_the_run_recorded(recorded_runs):
    from training_lib.reports.build import build_report

    _, ctx, results = recorded_runs
    paths = build_report(ctx, log_to_mlflow=False)
    report = json.loads(paths["training_report"].read_text())
    jsonschema.Draft202012Validator.check_schema(json.loads(SCHEMA_PATH.read_text()))
    assert report_errors(report) == []
    assert report["evaluation"]["toy_a"]["test"] == results["toy_a"]["test_metric"]
    [event] = report["anomalies"]["events"]
    assert (event["model"], event["kind"], event["action"]) == ("toy_b", "nan", "rollback")
    assert report["anomalies"]["counts"] == {"toy_b": {"nan": 1}}
    assert {(f["model"], f["kind"]) for f in report["faults"]} == {("toy_b", "injected"),
                                                                  ("toy_b", "rollback")}
    assert [r["run_id"] for r in report["trends"]["runs"]] == ["run-1", "run-2"]
    system = report["system"]["toy_a"]["round_1"]
    assert system["samples"] >= 3 and system["rss_mb_max"] > 50
    assert report["training"]["toy_a"]["round_1"]["steps_logged"] >= 20
    assert report["problems"] == ["register_versions did not finish (no registry.json)"]
    assert set(report["artifacts"]) == {"training_progress", "system_resources",
                                        "anomaly_detection_heatmap", "run_trends"}


def test_a_report_that_breaks_the_schema_is_refused_with_the_path(recorded_runs):
    from training_lib.reports.build import build_report

    _, ctx, _ = recorded_runs
    report = json.loads(build_report(ctx, log_to_mlflow=False)["training_report"]
                        .read_text())
    broken = copy.deepcopy(report)
    broken["anomalies"]["events"][0]["kind"] = "gremlins"
    del broken["trends"]
    broken["surprise"] = 1
    with pytest.raises(ReportError) as info:
        validate_report(broken)
    message = str(info.value)
    assert "anomalies/events/0/kind: 'gremlins' is not one of" in message
    assert "'trends' is a required property" in message
    assert "'surprise' was unexpected" in message


def test_cli_rebuilds_a_report_from_the_run_store(recorded_runs, capsys):
    _, ctx, _ = recorded_runs
    report_dir = ctx.folder.report_dir
    for path in report_dir.iterdir():
        path.unlink()
    assert main(["report", f"{ctx.dag_id}/{ctx.run_id}", "--no-mlflow"]) == 0
    printed = capsys.readouterr().out
    for name in ("training_progress", "system_resources", "anomaly_detection_heatmap",
                 "training_report", "report_html"):
        assert name in printed
    assert (report_dir / "report.html").stat().st_size > 100_000
    assert main(["report", str(ctx.run_dir), "--no-mlflow"]) == 0  # a folder works too
    assert json.loads((report_dir / "links.json").read_text())["html"].endswith("report.html")


def test_cli_names_what_it_looked_for(tmp_path, capsys):
    assert main(["report", "no_such_dag/no_such_run", "--no-mlflow"]) == 2
    err = capsys.readouterr().err
    assert "no_such_dag/no_such_run" in err and "config.json" in err


def test_faults_recorded_by_the_training_tasks_are_in_the_report(recorded_runs):
    from training_lib.reports.build import build_report
    from training_lib.runs.faults import record_fault

    first, _, _ = recorded_runs
    record_fault(first, model="toy_a", round=1, **{"try": 1}, device="cpu", kind="stalled",
                 step=40, error="no step for 300 s")
    report = json.loads(build_report(first, log_to_mlflow=False)["training_report"].read_text())
    [stalled] = [f for f in report["faults"] if f["kind"] == "stalled"]
    assert stalled["model"] == "toy_a" and "at step 40: no step for 300 s" in stalled["detail"]
    assert report["trends"]["runs"][-1]["run_id"] == "run-1"  # only runs before it count


def test_an_incremental_run_shows_old_and_new_metrics_before_and_after(recorded_runs):
    from training_lib.reports.build import build_report

    first, _, _ = recorded_runs
    result_path = first.round("toy_a").result
    original = result_path.read_text()
    verdict = {"mode": "finetune", "champion_version": "3", "accepted": False,
               "before": {"old": 0.91, "new": 0.40, "n_old": 120, "n_new": 30},
               "after": {"old": 0.83, "new": 0.77, "n_old": 120, "n_new": 30},
               "reason": "old-data accuracy fell 0.0800 > epsilon 0.0100"}
    try:
        first.write_json(first.folder.incremental,
                         {"message": "new data since run run-0: toy_a 7 files", "proceed": True})
        result_path.write_text(json.dumps({**json.loads(original), "incremental": verdict}))
        paths = build_report(first, log_to_mlflow=False)
        report = json.loads(paths["training_report"].read_text())
        assert report_errors(report) == []
        assert report["incremental"]["models"] == {"toy_a": verdict}
        page = paths["report_html"].read_text()
        section = page[page.index("Incremental learning"):]
        for shown in ("toy_a 7 files", "0.9100", "0.8300", "0.4000", "0.7700", "rejected",
                      "epsilon 0.0100"):
            assert shown in section
    finally:
        result_path.write_text(original)
        (first.run_dir / "incremental.json").unlink(missing_ok=True)
    report = json.loads(build_report(first, log_to_mlflow=False)["training_report"].read_text())
    assert report["incremental"] is None
