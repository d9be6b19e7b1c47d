"""Task callables of a preset DAG: each reopens the run and calls one pipeline stage.

They return small dicts of paths and ids (XCom never carries data).
"""
from __future__ import annotations

import contextlib
import logging
from typing import Any, Iterator

from airflow.sdk import task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

log = logging.getLogger("airflow.task")


@contextlib.contextmanager
def fail_fast(context: Any) -> Iterator[None]:
    """A `NotRetryable` error (missing/empty data folder, failed critical expectation, no
    data for any model, broken preset) fails the task at once, without retries: it is
    recorded as the run's failure (failure.json, read by evaluate, the report, the CLI and
    the MLflow parent run) and raised as AirflowFailException with its one line.
    Everything else keeps the task's retries (a killed process, OOM, an outage, a hang)."""
    from training_lib.errors import NotRetryable

    try:
        yield
    except NotRetryable as e:
        from training_lib.runs.context import run_dir_for
        from training_lib.runs.failure import failure_line, record_failure

        ti = context["ti"]
        failure = record_failure(run_dir_for(context["dag"].dag_id, context["run_id"]),
                                 ti.task_id, e, try_number=ti.try_number)
        raise AirflowFailException(failure_line(failure)) from e


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

    with fail_fast(context):
        return stages.scan_data(run_context(preset_name, context), progress=_progress("scanned"))


@task
def validate_data(preset_name: str, **context: Any) -> dict[str, Any]:
    from training_lib.pipeline import stages

    with fail_fast(context):
        result = stages.validate_data(run_context(preset_name, context))
    for model, reason in result["left_out"].items():
        log.warning("%s will be skipped: %s", model, reason)
    return result


@task
def allocate_resources(preset_name: str, **context: Any) -> dict[str, Any]:
    from tlib_airflow.pools import sync_pools
    from training_lib.pipeline import stages

    with fail_fast(context):
        result = stages.allocate_resources(run_context(preset_name, context))
    log.info("resource plan: %s", result["devices"])
    sync_pools(result["pools"])
    return result


@task
def train(preset_name: str, model: str, round_index: int = 1, **context: Any) -> dict[str, Any]:
    from training_lib.errors import NoDataForModel
    from training_lib.pipeline import stages

    with fail_fast(context):
        ctx = run_context(preset_name, context)
    try:
        return stages.train_model(ctx, model, round_index, log_line=lambda line: log.info("%s", line))
    except NoDataForModel as e:
        raise AirflowSkipException(str(e)) from e


@task
def evaluate(preset_name: str, **context: Any) -> dict[str, Any]:
    from training_lib.pipeline import stages

    with fail_fast(context):
        return stages.evaluate(run_context(preset_name, context))


@task
def register_versions(preset_name: str, **context: Any) -> dict[str, Any]:
    from training_lib.pipeline import stages

    with fail_fast(context):
        return stages.register_versions(run_context(preset_name, context))


@task
def render_report(preset_name: str, **context: Any) -> dict[str, Any]:
    """Always runs (trigger rule all_done); fails after writing the report when an
    earlier stage failed, so the DAG run's state tells the truth (a run that failed for
    good fails here with the same one line as the task that failed it)."""
    from training_lib.errors import TrainingError
    from training_lib.pipeline import stages
    from training_lib.runs.failure import failure_line, read_failure
    from training_lib.runs.outcome import run_problems

    with fail_fast(context):
        ctx = run_context(preset_name, context)
    result = stages.render_report(ctx)
    for name, value in result.items():  # one per line, the path or URL last: the log view
        log.info("report %s: %s", name, value)  # links it without a trailing "'," or ")"
    failure = read_failure(ctx.run_dir)
    if failure:
        raise AirflowFailException(f"{failure_line(failure)} (report: {ctx.folder.report_dir})")
    problems = run_problems(ctx)
    if problems:
        raise TrainingError(f"report written to {ctx.folder.report_dir}, but: "
                            + "; ".join(problems))
    stages.remember_success(ctx)
    return result


@task.short_circuit(ignore_downstream_trigger_rules=False)
def detect_new_data(preset_name: str, **context: Any) -> bool:
    """Incremental presets: train only when some model has new data. With nothing new the
    trainings are skipped, but evaluate and render_report (trigger rule all_done) still
    run: the night gets its report and its MLflow parent run is finished, not left open."""
    from training_lib.pipeline import stages

    with fail_fast(context):
        summary = stages.detect_new_data(run_context(preset_name, context))
    log.info("%s", summary["message"])
    return bool(summary["proceed"])


@task
def share_knowledge(preset_name: str, round_index: int, **context: Any) -> dict[str, Any]:
    from training_lib.pipeline import stages

    with fail_fast(context):
        ctx = run_context(preset_name, context)
    return stages.share_knowledge(ctx, round_index)
