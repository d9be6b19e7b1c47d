"""Follow a DAG run in the terminal: tasks done/total, running tasks with their
training progress (from the run folder's heartbeats), elapsed time; then a summary."""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, Callable

from training_lib.runs.context import run_dir_for
from training_lib.runs.files import read_jsonl
from training_lib.runs.folder import RunFolder

FINISHED = {"success", "failed"}
DONE_TASK = {"success", "skipped", "failed", "upstream_failed", "removed"}


def training_progress(run_dir: Path) -> dict[str, str]:
    """model -> "step 40/120" from the newest heartbeat of each model; a retry shows
    "try 2 starting", then "resumed at step 30/120", then "step 40/120 (try 2, resumed
    at 30)", never a misleading "step 0/120"."""
    out = {}
    for folder in RunFolder(run_dir).rounds():  # a later round replaces an earlier one
        beat = folder.read_heartbeat()
        if beat is None:
            continue
        total = beat.get("total")
        of = f"/{total}" if total else ""
        step = beat.get("step", 0) or 0
        attempt, resumed, logged = _current_try(folder.metrics)
        if attempt <= 1:  # a new worker's first heartbeat (step 0) before its start event
            out[folder.model] = "retry starting" if step == 0 and logged else f"step {step}{of}"
        elif resumed is None:
            out[folder.model] = f"try {attempt} starting" if step == 0 else \
                f"step {step}{of} (try {attempt}, started over)"
        elif step <= resumed:
            out[folder.model] = f"resumed at step {resumed}{of} (try {attempt})"
        else:
            out[folder.model] = f"step {step}{of} (try {attempt}, resumed at {resumed})"
    return out


def _current_try(metrics: Path) -> tuple[int, int | None, bool]:
    """(newest try that started, the checkpoint step it resumed from or None, whether
    any step was logged at all)."""
    attempt, resumed, logged = 1, None, False
    for event in read_jsonl(metrics):
        if event.get("event") == "start" and int(event.get("try", 1)) >= attempt:
            attempt, resumed = int(event.get("try", 1)), None
        elif event.get("event") == "resumed" and int(event.get("try", 1)) == attempt:
            resumed = event.get("from_step")
        elif "event" not in event and event.get("step"):
            logged = True
    return attempt, resumed, logged


def render(tis: list[dict[str, Any]], run_state: str, elapsed: float, run_dir: Path) -> str:
    done = sum(1 for t in tis if t.get("state") in DONE_TASK)
    running = [t["task_id"] + ("" if t.get("state") == "running" else f" ({t['state']})")
               for t in tis if t.get("state") in ("running", "up_for_reschedule", "queued",
                                                  "up_for_retry")]
    failed = [t["task_id"] for t in tis if t.get("state") in ("failed", "upstream_failed")]
    waiting = [f"{t['task_id']} (pool {t.get('pool')})" for t in tis
               if t.get("state") == "scheduled" and t.get("pool") not in (None, "default_pool")]
    progress = training_progress(run_dir)
    parts = []
    for label in running:
        task_id = label.split(" ")[0]
        group = task_id.split(".")[0]
        model = group.split("_", 2)[-1] if group.startswith("round_") else group
        extra = f" [{progress[model]}]" if task_id.endswith(".train") and model in progress else ""
        parts.append(label + extra)
    line = (f"[{int(elapsed) // 60:02d}:{int(elapsed) % 60:02d}] {run_state:8} "
            f"{done}/{len(tis)} tasks done | running: {', '.join(parts) or '-'}")
    if waiting:
        line += f" | waiting for a slot: {', '.join(waiting)}"
    if failed:
        line += f" | failed: {', '.join(failed)}"
    return line


def follow(get_run: Callable[[], dict[str, Any]], get_tis: Callable[[], list[dict[str, Any]]],
           dag_id: str, run_id: str, interval: float = 2.0, timeout: float = 7200) -> str:
    start = time.monotonic()
    run_dir = run_dir_for(dag_id, run_id)
    last = ""
    tty = sys.stdout.isatty()
    state = "queued"
    while time.monotonic() - start < timeout:
        state = get_run().get("state", "?")
        line = render(get_tis(), state, time.monotonic() - start, run_dir)
        if tty:
            sys.stdout.write("\r\033[K" + line[:200])
            sys.stdout.flush()
        elif line.split("]", 1)[1] != last.split("]", 1)[-1]:
            print(line, flush=True)
        last = line
        if state in FINISHED:
            break
        time.sleep(interval)
    if tty:
        print()
    return state
