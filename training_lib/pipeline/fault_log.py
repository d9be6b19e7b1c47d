"""What the train stage records in the run's fault record (`runs/faults.py`).

A fault names the model, round, try, host, device, kind, error and the step training had
reached. A try that died without a word (its worker was killed) is recorded by the next
try from what the dead one left: its start event and its last heartbeat.
"""
from __future__ import annotations

from typing import Any

from training_lib.pipeline.launcher import TrainingStalled, WorkerExited
from training_lib.pipeline.noise import without_noise
from training_lib.runs.context import RunContext
from training_lib.runs.faults import read_faults, record_fault
from training_lib.runs.files import read_jsonl
from training_lib.training.checkpoints import committed_steps


def step_reached(ctx: RunContext, model: str, round_index: int) -> int | None:
    """The furthest step any trace shows: heartbeat (throttled to 1/s), newest checkpoint,
    or the last logged metrics."""
    folder = ctx.round(model, round_index)
    beat = folder.read_heartbeat()
    steps = [beat.get("step") or 0] if beat else []
    steps += committed_steps(folder.checkpoints)
    last = _started_tries(ctx, model, round_index).get(ctx.try_number, {}).get("last_step")
    if last is not None:
        steps.append(int(last))
    return max(steps) if steps else None


OUTPUT_LINES = 12  # last lines of a worker's output kept in a fault record
FIRST_LINE_MAX = 1000


def error_fields(error: BaseException) -> dict[str, Any]:
    """How a fault record describes an error: `error` the whole first line of its message
    (the cause, never cut at the front), `signal`/`exit_code` of a worker that ended, and
    `output` its last lines without library start-up noise."""
    lines = str(error).splitlines() or [type(error).__name__]
    first = lines[0].removesuffix("; last output:")
    if len(first) > FIRST_LINE_MAX:
        first = first[:FIRST_LINE_MAX - 3] + "..."
    output = getattr(error, "output", None) or lines[1:]
    fields: dict[str, Any] = {"error": first,
                              "output": without_noise(output)[-OUTPUT_LINES:]}
    if isinstance(error, WorkerExited):
        fields.update(signal=error.signal, exit_code=error.exit_code)
    return fields


def kind_of(error: BaseException) -> str:
    text = str(error)
    if isinstance(error, TrainingStalled):
        return "stalled"
    if "out of memory" in text:
        return "out_of_memory"
    if "killed by signal" in text:
        return "killed"
    if "unhealthy" in text:
        return "unhealthy_node"
    return "crashed"


def note_lost_tries(ctx: RunContext, model: str, round_index: int) -> list[dict[str, Any]]:
    """Record earlier tries of this task that left no fault and no result behind."""
    if ctx.try_number <= 1:
        return []
    known = {(f.get("model"), f.get("round"), f.get("try")) for f in read_faults(ctx.run_dir)}
    started = _started_tries(ctx, model, round_index)
    recorded = []
    for earlier in range(1, ctx.try_number):
        if (model, round_index, earlier) in known:
            continue
        start = started.get(earlier, {})
        recorded.append(record_fault(
            ctx, model=model, round=round_index, **{"try": earlier},
            host=start.get("host", "unknown"), device=start.get("device", "unknown"),
            kind="lost", step=start.get("last_step"),
            error=f"try {earlier} ended without reporting: its worker or task process was lost "
                  "(killed, or the machine went away)"))
    return recorded


def _started_tries(ctx: RunContext, model: str, round_index: int) -> dict[int, dict[str, Any]]:
    tries: dict[int, dict[str, Any]] = {}
    for item in read_jsonl(ctx.round(model, round_index).metrics):
        t = item.get("try")
        if item.get("event") == "start":
            tries[t] = {"host": item.get("host"), "device": item.get("device")}
        elif "step" in item and t in tries:
            tries[t]["last_step"] = item["step"]
    return tries
