"""Task callables of a preset DAG: each reopens the run and calls one pipeline stage.

They return small dicts of paths and ids (XCom never carries data).
"""
from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import task
from airflow.sdk.exceptions import AirflowSkipException

log = logging.getLogger("airflow.task")


def allow_process_pools() -> None:
    """Celery's prefork worker marks its children daemonic, and the Airflow task process
    forked from one inherits the flag, which forbids the process pools the scan and
    feature stages use ("daemonic processes are not allowed to have children"). The task
    process waits for its pools itself, so it may clear the flag."""
    import multiprocessing

    current = multiprocessing.current_process()
    if current.daemon:
        current._config["daemon"] = False  # noqa: SLF001 - no public API for this


def run_context(preset_name: str, context: Any):  # -> RunContext
    from training_lib.runs.context import start_run

    allow_process_pools()
    return start_run(context["dag"].dag_id, context["run_id"], preset_name,
                     dict(context["params"]), try_number=context["ti"].try_number)


def _progress(label: str):
    state = {"last": -1}

    def report(done: int, total: int) -> None:
        pct = int(100 * done / total) if total else 100
        if pct // 10 != state["last"] // 10 or done == total:
            state["last"] = pct
            log.info("%s: %d/%d files (%d%%)", label, done, total, pct)

    return report


@task
def scan_data(preset_name: str, **context: Any) -> dict[str, Any]:
    from training_lib.pipeline import stages

    return stages.scan_data(run_context(preset_name, context), progress=_progress("scanned"))


@task
def validate_data(preset_name: str, **context: Any) -> dict[str, Any]:
    from training_lib.pipeline import stages

    result = stages.validate_data(run_context(preset_name, context))
    for model, reason in result["left_out"].items():
        log.warning("%s will be skipped: %s", model, reason)
    return result


@task
def allocate_resources(preset_name: str, **context: Any) -> dict[str, Any]:
    from tlib_airflow.pools import sync_pools
    from training_lib.pipeline import stages

    result = stages.allocate_resources(run_context(preset_name, context))
    log.info("resource plan: %s", result["devices"])
    sync_pools(result["pools"])
    return result


@task
def train(preset_name: str, model: str, round_index: int = 1, **context: Any) -> dict[str, Any]:
    from training_lib.errors import NoDataForModel
    from training_lib.pipeline import stages

    ctx = run_context(preset_name, context)
    try:
        return stages.train_model(ctx, model, round_index, log_line=lambda line: log.info("%s", line))
    except NoDataForModel as e:
        raise AirflowSkipException(str(e)) from e


@task
def evaluate(preset_name: str, **context: Any) -> dict[str, Any]:
    from training_lib.pipeline import stages

    return stages.evaluate(run_context(preset_name, context))


@task
def register_versions(preset_name: str, **context: Any) -> dict[str, Any]:
    from training_lib.pipeline import stages

    return stages.register_versions(run_context(preset_name, context))


@task
def render_report(preset_name: str, **context: Any) -> dict[str, Any]:
    """Always runs (trigger rule all_done); fails after writing the report when an
    earlier stage failed, so the DAG run's state tells the truth."""
    from training_lib.errors import TrainingError
    from training_lib.pipeline import stages
    from training_lib.runs.outcome import run_problems

    ctx = run_context(preset_name, context)
    result = stages.render_report(ctx)
    log.info("report: %s", result)
    problems = run_problems(ctx)
    if problems:
        raise TrainingError(f"report written to {ctx.folder.report_dir}, but: "
                            + "; ".join(problems))
    stages.remember_success(ctx)
    return result


@task.short_circuit
def detect_new_data(preset_name: str, **context: Any) -> bool:
    """Incremental presets: continue only when some model has new data."""
    from training_lib.pipeline import stages

    summary = stages.detect_new_data(run_context(preset_name, context))
    log.info("%s", summary["message"])
    return bool(summary["proceed"])


@task
def share_knowledge(preset_name: str, round_index: int, **context: Any) -> dict[str, Any]:
    from training_lib.pipeline import stages

    return stages.share_knowledge(run_context(preset_name, context), round_index)
