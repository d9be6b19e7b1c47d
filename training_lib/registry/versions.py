"""Register every trained model as a version of the registered model of its name."""
from __future__ import annotations

import json
import logging
from typing import Any

from training_lib.runs.context import RunContext
from training_lib.registry import client

log = logging.getLogger(__name__)
HISTORY_IN_REPORT = 8


def ensure_registered_model(name: str, description: str = "") -> None:
    """Create the registered model unless it exists (a parallel task may create it first)."""
    if client.get_registered_model(name) is None:
        client.create_registered_model(name, description)


def register_version(ctx: RunContext, model: str, result: dict[str, Any],
                     fingerprint: str) -> dict[str, Any]:
    """Create the version with its lineage tags; returns {"version": .., "tags": ..}."""
    ensure_registered_model(model, result.get("description", ""))
    tags = {**ctx.tags(), "model": model, "dataset_fingerprint": fingerprint,
            f"test_{result['metric']}": f"{result['test_metric']:.6f}",
            f"baseline_{result['metric']}": f"{result['baseline']:.6f}",
            "train_rows": str(result["sizes"]["train"]), "test_rows": str(result["sizes"]["test"]),
            "source_files": str(result["sources"])}
    if result.get("classes"):
        tags["classes"] = json.dumps(result["classes"])[:5000]
    if result.get("frozen_metric") is not None:
        tags[f"frozen_{result['metric']}"] = f"{result['frozen_metric']:.6f}"
    version = client.create_version(model, result["model_uri"], tags,
                                    description=f"{ctx.dag_id} / {ctx.run_id}")
    return {"version": str(version.version), "tags": tags}


def register_run_models(ctx: RunContext, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    from training_lib.registry.history_store import HistoryStore
    from training_lib.registry.promotion import decide_and_apply

    fingerprint = (ctx.read_json(ctx.folder.scan, {}) or {}).get("fingerprint", "")
    decisions: dict[str, Any] = {}
    for model, result in sorted(results.items()):
        registered = register_version(ctx, model, result, fingerprint)
        decision = decide_and_apply(ctx, model, registered["version"], result)
        # the report shows the model's latest alias moves (hand edits included)
        decisions[model] = {**registered, **decision,
                            "alias_history": HistoryStore().alias_events(model, HISTORY_IN_REPORT)}
        log.info("%s: version %s -> %s (%s)", model, registered["version"], decision["tag"],
                 decision["reason"])
    return decisions
