"""The run's fault record: faults.jsonl, one JSON object per fault.

A fault names the model, round, try, host, device, kind, error and the step training had
reached (`pipeline/fault_log.py` decides what to record; reports read it back here).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from training_lib import settings
from training_lib.runs.context import RunContext
from training_lib.runs.files import append_jsonl, read_jsonl
from training_lib.runs.folder import RunFolder


def record_fault(ctx: RunContext, **fields: Any) -> dict[str, Any]:
    """Append one fault (with time, host, dag and run ids) and return it."""
    entry = {"time": time.time(), "host": settings.host_name(), "dag_id": ctx.dag_id,
             "run_id": ctx.run_id, **fields}
    return append_jsonl(ctx.folder.faults, entry)


def read_faults(run_dir: Path) -> list[dict[str, Any]]:
    """Every fault of the run in `run_dir`, oldest first."""
    return read_jsonl(RunFolder(run_dir).faults)
