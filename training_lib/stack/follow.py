"""Follow a DAG run in the terminal: tasks done/total, running tasks with their
training progress (from the run folder's heartbeats), elapsed time; then a summary."""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, Callable

from training_lib.runs.context import run_dir_for
from training_lib.runs.folder import RunFolder

FINISHED = {"success", "failed"}
DONE_TASK = {"success", "skipped", "failed", "upstream_failed", "removed"}


def training_progress(run_dir: Path) -> dict[str, str]:
    """model -> "step 40/120" from the newest heartbeat of each model."""
    out = {}
    for folder in RunFolder(run_dir).rounds():  # a later round replaces an earlier one
        beat = folder.read_heartbeat()
        if beat is None:
            continue
        total = beat.get("total")
        out[folder.model] = f"step {beat.get('step', 0)}" + (
            f"/{total}" if total else "")
    return out


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
