"""Assemble a run's report from its run folder, and log it to the parent MLflow run.

    report/training_progress_<run>.png         loss and metric per model and round
    report/system_resources_<run>.png          CPU, memory, disk I/O, GPUs over time
    report/anomaly_detection_heatmap_<run>.png anomalies per model and time window
    report/run_trends_<run>.png                this run against earlier runs of the preset
    report/training_report_<run>.json          everything, valid against its JSON schema
    report/report.html                         one self-contained page with all of it
    report/links.json                          where to open it (for the Airflow link)

`python -m training_lib report RUN` rebuilds it from the run store at any time.
"""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from training_lib import settings
from training_lib.errors import RegistryError, ReportError
from training_lib.runs.context import RunContext
from training_lib.runs.failure import read_failure
from training_lib.runs.faults import read_faults
from training_lib.runs.folder import RunFolder
from training_lib.runs.outcome import model_results, run_problems
from training_lib.reports import heatmap, metrics, plots, summary, trends
from training_lib.reports.html import render_html
from training_lib.reports.schema import validate_report

log = logging.getLogger(__name__)
HTML = "report.html"
LINKS = "links.json"


def build_report(ctx: RunContext, *, log_to_mlflow: bool = True) -> dict[str, Path]:
    out = ctx.folder.report_dir
    out.mkdir(parents=True, exist_ok=True)
    if log_to_mlflow and read_failure(ctx.run_dir):
        _ensure_parent_run(ctx)
    tag = settings.safe_name(ctx.run_id)
    title = f"{ctx.dag_id} - {ctx.run_id}"
    streams = metrics.run_streams(ctx.run_dir)
    system = metrics.run_system(ctx.run_dir)
    anomalies = metrics.run_anomalies(ctx.run_dir)
    grid = heatmap.anomaly_grid(metrics.training_spans(streams), anomalies)
    comparison = trends.compare_with_earlier(ctx.run_dir)
    runs = comparison["runs"]

    figures = {
        "training_progress": plots.draw_training_progress(streams, anomalies, title),
        "system_resources": plots.draw_system_resources(
            system, title, ctx.settings.anomalies.check("memory_saturation").fraction),
        "anomaly_detection_heatmap": heatmap.draw_anomaly_heatmap(grid, title),
        "run_trends": trends.draw_trends(runs, f"{ctx.dag_id}: the last {len(runs)} runs"),
    }
    paths: dict[str, Path] = {}
    for name, fig in figures.items():
        if fig is not None:
            paths[name] = plots.save(fig, out / f"{name}_{tag}.png")

    report = report_data(ctx, streams, system, anomalies, grid, runs)
    report["trends"].update(basis=comparison["basis"], excluded=comparison["excluded"])
    report["artifacts"] = {k: str(v) for k, v in paths.items()}
    validate_report(report)
    json_path = out / f"training_report_{tag}.json"
    json_path.write_text(json.dumps(report, indent=2, default=str))
    html_path = out / HTML
    html_path.write_text(render_html(report, paths, out), encoding="utf-8")
    paths["training_report"] = json_path
    paths["report_html"] = html_path
    links = {"html": str(html_path), "mlflow": None}
    (out / LINKS).write_text(json.dumps(links, indent=2))
    if log_to_mlflow:
        try:
            links["mlflow"] = _log_to_mlflow(ctx, paths)
        except RegistryError as e:  # the files are written; say so, and what failed
            raise ReportError(f"report written to {out}, but logging it to the parent MLflow "
                              f"run of {ctx.run_id!r} failed: {e}") from e
        (out / LINKS).write_text(json.dumps(links, indent=2))
    # each address last on its line: log viewers link it without a trailing ")"
    log.info("report of %s written to %s", ctx.run_id, html_path)
    if links["mlflow"]:
        log.info("report of %s in MLflow: %s", ctx.run_id, links["mlflow"])
    return paths


def report_data(ctx: RunContext, streams: metrics.Streams, system: dict[str, Any],
                anomalies: list[dict[str, Any]], grid: dict[str, Any],
                runs: list[dict[str, Any]]) -> dict[str, Any]:
    folder = ctx.folder
    evaluation = ctx.read_json(folder.evaluation, {}) or {}
    results = model_results(ctx)
    validation = ctx.read_json(folder.validation, {}) or {}
    docs = validation.get("docs_path") or None
    knowledge = [json.loads((path / "summary.json").read_text())
                 for _, path in folder.knowledge_rounds() if (path / "summary.json").exists()]
    return {
        "schema_version": 1,
        "dag_id": ctx.dag_id, "run_id": ctx.run_id, "preset": ctx.preset.name,
        "generated": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "run_dir": str(ctx.run_dir),
        "config": ctx.preset.resolved(),
        "scan": ctx.read_json(folder.scan, {}) or {}, "validation": validation,
        "data_docs": docs if docs and Path(docs).exists() else None,
        "routing": ctx.read_json(folder.routing, {}) or {},
        "plan": ctx.read_json(folder.plan, {}) or {},
        "evaluation": evaluation, "registry": ctx.read_json(folder.registry, {}) or {},
        "mlflow": ctx.read_json(folder.mlflow, {}) or {},
        "training": summary.training_summary(streams),
        "system": summary.system_summary(system),
        "anomalies": {"events": anomalies, "counts": summary.anomaly_counts(anomalies),
                      "grid": grid},
        "faults": summary.faults(streams, evaluation, results, anomalies,
                                 read_faults(ctx.run_dir)),
        "knowledge": knowledge,
        "incremental": incremental_summary(ctx, results),
        "trends": {"runs": runs, "regressions": trends.regressions(runs)},
        "problems": run_problems(ctx),
        "failure": read_failure(ctx.run_dir),
        "label_issues": label_issues(ctx),
        "artifacts": {},
    }


def label_issues(ctx: RunContext) -> dict[str, Any]:
    """Per model, the likely mislabeled training files of its newest round that looked
    for them (pipeline/reference_step.py)."""
    found: dict[str, Any] = {}
    for round_folder in ctx.folder.rounds():  # ascending: a later round replaces an earlier one
        data = ctx.read_json(round_folder.label_issues)
        if data is not None:
            found[round_folder.model] = data
    return found


def incremental_summary(ctx: RunContext,
                        results: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """What an incremental run detected (per model, against which baseline) and, per
    model, the forgetting guard's verdict with its record (champion and candidate on the
    same old/new test rows, intervals, p-values), including models left waiting for more
    new data; None for runs of presets without `incremental`."""
    detection = ctx.read_json(ctx.folder.incremental)
    if detection is None:
        return None
    untrained = {m: r for m, r in ctx.folder.newest_results().items() if "untrained" in r}
    models = {model: result["incremental"] for model, result in {**results, **untrained}.items()
              if result.get("incremental")}
    return {"detection": detection, "models": models}


def _ensure_parent_run(ctx: RunContext) -> None:
    """A run that failed before scan_data made its parent MLflow run gets one, so that
    MLflow lists the failed run (FAILED, with its cause) like every other."""
    from training_lib.registry import tracking

    try:
        tracking.parent_run_id(ctx.run_dir, experiment=ctx.dag_id, run_name=ctx.run_id,
                               tags=ctx.tags())
    except RegistryError as e:
        raise ReportError(f"the parent MLflow run of the failed run {ctx.run_id!r} cannot be "
                          f"created: {e}") from e


def _log_to_mlflow(ctx: RunContext, paths: dict[str, Path]) -> str | None:
    """Log the report files to the parent run; returns the MLflow UI address of report.html
    when the tracking store is a server, else the artifact URI."""
    from training_lib.registry import tracking

    parent = tracking.run_ids(ctx.run_dir).get("parent")
    failure = read_failure(ctx.run_dir)
    if not parent:
        return None
    for path in paths.values():
        tracking.log_artifact(parent, path, artifact_path="report")
    problems = run_problems(ctx)
    if problems:
        tracking.mark_run_failed(parent, "; ".join(problems),
                                 failed_task=failure["task"] if failure else None)
    else:
        tracking.finish_run(parent, "FINISHED")
    run = tracking.get_run(parent)
    if run is None:
        raise RegistryError(f"parent run {parent!r} of {ctx.run_id!r} is not on the MLflow "
                            f"server {settings.mlflow_tracking_uri()!r}")
    ui_url = settings.mlflow_ui_url()
    if ui_url:
        return settings.mlflow_ui_page(
            ui_url, f"experiments/{run.info.experiment_id}/runs/{parent}/artifacts/report/{HTML}")
    return f"{run.info.artifact_uri}/report/{HTML}"


def report_link(run_dir: Path) -> str | None:
    """Where to open a run's report: its MLflow page if logged to a server, else the file."""
    try:
        links = json.loads((RunFolder(run_dir).report_dir / LINKS).read_text())
    except (OSError, ValueError):
        return None
    mlflow_url = links.get("mlflow")
    if mlflow_url and mlflow_url.startswith(("http://", "https://")):
        return mlflow_url
    return Path(links["html"]).as_uri() if links.get("html") else None
