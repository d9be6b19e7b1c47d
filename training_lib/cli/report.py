"""`report RUN`: rebuild a DAG run's report from the run store.

    python -m training_lib report var/runs/quick_start/manual__2026-01-01T00_00_00_00_00
    python -m training_lib report quick_start/manual__2026-01-01T00:00:00+00:00
"""
from __future__ import annotations

import argparse
from pathlib import Path

from training_lib.errors import ReportError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("report", help="rebuild a run's report (plots, JSON, report.html)")
    parser.add_argument("run", help="a run folder, or DAG_ID/RUN_ID of a run in the run store")
    parser.add_argument("--no-mlflow", action="store_true",
                        help="do not log the report files to the run's parent MLflow run")
    parser.set_defaults(func=run)


def resolve_run_dir(run: str) -> Path:
    """A run folder from a path or from DAG_ID/RUN_ID (ReportError naming both tries)."""
    from training_lib.runs.context import run_dir_for
    from training_lib.runs.folder import RunFolder

    path = Path(run).expanduser()
    if RunFolder(path).config.exists():
        return path.resolve()
    dag_id, sep, run_id = run.partition("/")
    if sep and dag_id and run_id:
        candidate = run_dir_for(dag_id, run_id)
        if RunFolder(candidate).config.exists():
            return candidate
    store = run_dir_for(dag_id, run_id) if sep and dag_id and run_id else "no DAG_ID/RUN_ID"
    raise ReportError(f"run {run!r}: expected a run folder holding config.json, or DAG_ID/RUN_ID "
                      f"of a run under the run store (looked at {path} and {store})")


def run(args: argparse.Namespace) -> int:
    from training_lib.runs.context import load_run
    from training_lib.reports.build import build_report

    ctx = load_run(resolve_run_dir(args.run))
    paths = build_report(ctx, log_to_mlflow=not args.no_mlflow)
    for name, path in paths.items():
        print(f"{name:28} {path}")
    return 0
