"""What a run's files say about how it went, for the stages, the report and the CLI.

Readers only: they never write the run folder.
"""
from __future__ import annotations

from typing import Any

from training_lib.runs.context import RunContext


def model_results(ctx: RunContext) -> dict[str, dict[str, Any]]:
    """The newest round's result.json of every model that finished."""
    return ctx.folder.newest_results()


def trainable_models(ctx: RunContext) -> list[str]:
    """Models routing gave data to and did not leave out."""
    routing = ctx.read_json(ctx.folder.routing, {})
    left_out = routing.get("left_out", {})
    return [m for m in routing.get("models", []) if m not in left_out]


def incremental_skip_reason(ctx: RunContext, model: str) -> str | None:
    """Why an incremental run skips `model` (no new data), or None."""
    summary = ctx.read_json(ctx.folder.incremental)
    if summary and summary.get("previous_run") and model not in summary["models_with_new_data"]:
        return f"{model}: no new data since run {summary['previous_run']}"
    return None


def run_problems(ctx: RunContext) -> list[str]:
    """What went wrong in this run, from the files its stages left (empty: all fine)."""
    problems = []
    evaluation = ctx.read_json(ctx.folder.evaluation)
    if evaluation is None and (ctx.read_json(ctx.folder.incremental) or {}).get("proceed") is False:
        return problems
    if evaluation is None:
        problems.append("evaluate did not finish (no evaluation.json)")
        return problems
    failed = sorted(m for m, r in evaluation.items() if r.get("status") == "failed")
    if failed:
        problems.append(f"models failed to train: {', '.join(failed)}")
    if any(r.get("status") == "trained" for r in evaluation.values()) and \
            ctx.read_json(ctx.folder.registry) is None:
        problems.append("register_versions did not finish (no registry.json)")
    return problems
