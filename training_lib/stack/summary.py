"""The end-of-run summary: per model its test metric, trivial baseline, classical reference
and registered version, the report path, the UI URLs and the login."""
from __future__ import annotations

from training_lib import settings
from training_lib.runs.context import run_dir_for
from training_lib.runs.failure import failure_line, read_failure
from training_lib.runs.files import read_json
from training_lib.runs.folder import RunFolder
from training_lib.runs.retries import retry_line, run_retries
from training_lib.stack import env as stack_env


def summary_lines(dag_id: str, run_id: str, *, stack_up: bool, state: str,
                  seconds: float | None = None) -> list[str]:
    run_dir = run_dir_for(dag_id, run_id)
    folder = RunFolder(run_dir)
    evaluation, registry = read_json(folder.evaluation, {}), read_json(folder.registry, {})
    took = f" in {seconds:.0f}s" if seconds is not None else ""
    lines = [f"DAG run {dag_id} / {run_id}: {state}{took}"]
    failure = read_failure(run_dir)
    if failure:
        lines.append(failure_line(failure))
    lines += ["", f"{'model':28} {'status':8} {'test metric':26} {'baseline':9} "
                  f"{'reference':19} {'MLflow version':22}"]
    for model, row in sorted(evaluation.items()):
        reg = registry.get(model, {})
        if row.get("status") == "trained":
            metric = f"{row['metric']} {row['test']:.4f}"
            version = f"v{reg['version']} ({reg.get('tag', '?')})" if reg.get("version") else "-"
            status = "reused" if row.get("reused") else "trained"
            lines.append(f"{model:28} {status:8} {metric:26} {row['baseline']:<9.4f} "
                         f"{reference_text(row):19} {version:22}"
                         + (f" {row['reused']}" if row.get("reused") else ""))
        elif row.get("status") == "not started":
            lines.append(f"{model:28} not started ({row.get('reason', '')})")
        else:
            lines.append(f"{model:28} {row.get('status', '?'):8} {row.get('reason', '')}")
    retries = run_retries(run_dir)
    if retries:
        lines += ["", "retries:"] + [f"  {retry_line(r)}" for r in retries]
    reports = sorted(folder.report_dir.glob("*"))
    lines += ["", f"run folder: {run_dir}"] + [f"report:     {p}" for p in reports]
    if stack_up:
        # the passwords were shown once by `make up`; here only where they are kept
        lines += [f"Airflow UI: {stack_env.airflow_url()}/dags/{dag_id}   "
                  f"login: admin (password in {stack_env.passwords_file()})",
                  f"MLflow UI:  {settings.mlflow_ui_page(stack_env.mlflow_url())}   "
                  f"login: admin (password in {stack_env.mlflow_credentials_file()})",
                  "the UIs stay up until `make down`"]
    return lines


def reference_text(row: dict) -> str:
    """"0.9620 (-0.0010)": the classical reference's test metric and the model's lift
    over it ("-" when the run recorded none)."""
    if row.get("reference") is None:
        return "-"
    return f"{row['reference']:.4f} ({row['test'] - row['reference']:+.4f})"
