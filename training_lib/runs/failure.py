"""The run's failure record: failure.json, written by the first task that fails for good.

A task fails for good when its error is `NotRetryable` (a missing or empty data folder, a
failed critical expectation, no data for any model, a broken preset): retrying cannot
fix it, so the task fails at once and the rest of the run reads the cause from here. The
report's headline, the CLI summary, evaluate (models "not started") and the MLflow parent
run all show the same one line.

    >>> record_failure(run_dir, "validate_data", "no labelled files")
    >>> failure_line(read_failure(run_dir))
    'run failed at validate_data: no labelled files'
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from training_lib import settings
from training_lib.runs.files import read_json_or_none, write_json
from training_lib.runs.folder import RunFolder


def one_line(error: BaseException | str, limit: int = 600) -> str:
    """The error's message on one line (its lines joined with "; " unless one already ends
    in punctuation), at most `limit` characters."""
    text = ""
    for part in (p.strip() for p in str(error).splitlines() if p.strip()):
        text += (part if not text else (" " if text[-1] in ";:,." else "; ") + part)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def record_failure(run_dir: Path, task_id: str, error: BaseException | str,
                   try_number: int = 1) -> dict[str, Any]:
    """Record why the run failed for good; the first record wins (later tasks that fail
    because of it do not replace the cause). Returns the record in force."""
    folder = RunFolder(run_dir)
    existing = read_failure(run_dir)
    if existing is not None:
        return existing
    entry = {"task": task_id, "cause": one_line(error),
             "error": type(error).__name__ if isinstance(error, BaseException) else "str",
             "time": time.time(), "try": try_number, "host": settings.host_name()}
    write_json(folder.failure, entry)
    return entry


def read_failure(run_dir: Path) -> dict[str, Any] | None:
    """The run's failure record, or None when no task failed for good."""
    return read_json_or_none(RunFolder(run_dir).failure)


def failure_line(failure: dict[str, Any]) -> str:
    """"run failed at <task>: <cause>": the one line every view shows."""
    return f"run failed at {failure.get('task', '?')}: {failure.get('cause', '')}"
