"""What a run's files say about how it went, for the stages, the report and the CLI.

Readers only: they never write the run folder.
"""
from __future__ import annotations

from typing import Any

from training_lib.runs.context import RunContext
from training_lib.runs.failure import failure_line, read_failure


def model_results(ctx: RunContext) -> dict[str, dict[str, Any]]:
    """The newest round's result.json of every model that finished training (not those
    an incremental run left untrained: waiting for more new data, or no baseline)."""
    return {m: r for m, r in ctx.folder.newest_results().items() if "untrained" not in r}


def trainable_models(ctx: RunContext) -> list[str]:
    """Models routing gave data to and did not leave out."""
    routing = ctx.read_json(ctx.folder.routing, {})
    left_out = routing.get("left_out", {})
    return [m for m in routing.get("models", []) if m not in left_out]


def incremental_skip_reason(ctx: RunContext, model: str) -> str | None:
    """Why an incremental run skips `model`: no new data, no baseline (e.g. no champion),
    or too few new test rows (waiting for more new data); None when it does not."""
    summary = ctx.read_json(ctx.folder.incremental)
    if not summary:
        return None
    entry = (summary.get("models") or {}).get(model)
    if entry is not None and entry.get("skip"):
        return entry["reason"]
    if "models" not in summary and summary.get("previous_run") and \
            model not in summary["models_with_new_data"]:  # runs from before per-model entries
        return f"{model}: no new data since run {summary['previous_run']}"
    untrained = ctx.folder.newest_results().get(model) or {}
    if "untrained" in untrained:  # the worker found too few new test rows (or no baseline)
        return untrained["incremental"]["reason"]
    return None


def run_problems(ctx: RunContext) -> list[str]:
    """What went wrong in this run, from the files its stages left (empty: all fine).
    A run that failed for good (failure.json) leads with "run failed at <task>: <cause>";
    its models that never started are not counted as failed trainings."""
    failure = read_failure(ctx.run_dir)
    problems = [failure_line(failure)] if failure else []
    evaluation = ctx.read_json(ctx.folder.evaluation)
    if evaluation is None and (ctx.read_json(ctx.folder.incremental) or {}).get("proceed") is False:
        return problems
    if evaluation is None:
        if not failure:
            problems.append("evaluate did not finish (no evaluation.json)")
        return problems
    failed = sorted(m for m, r in evaluation.items() if r.get("status") == "failed")
    if failed:
        problems.append(f"models failed to train: {', '.join(failed)}")
    not_started = sorted(m for m, r in evaluation.items() if r.get("status") == "not started")
    if not_started and not failure:
        problems.append(f"models not started: {', '.join(not_started)}")
    if any(r.get("status") == "trained" for r in evaluation.values()) and \
            ctx.read_json(ctx.folder.registry) is None:
        problems.append("register_versions did not finish (no registry.json)")
    return problems
