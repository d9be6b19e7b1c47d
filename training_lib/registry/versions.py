"""Register every trained model as a version of the registered model of its name (an
incremental fine-tune the forgetting guard found "no change needed" in is not registered:
its decision is tagged on the champion instead)."""
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
    if result.get("reference") is not None:  # the classical reference (promotion's gate)
        tags[f"reference_{result['metric']}"] = f"{result['reference']:.6f}"
        tags["reference_model"] = str(result.get("reference_model", ""))[:5000]
    description = f"{ctx.dag_id} / {ctx.run_id}"
    incremental = result.get("incremental") or {}
    if incremental.get("verdict"):
        tags.update(incremental_tags(incremental))
        description += (f"\n\nIncremental fine-tune of champion v{incremental['champion_version']}"
                        f": {incremental['verdict']}. {incremental['reason']}")
    version = client.create_version(model, result["model_uri"], tags, description=description)
    return {"version": str(version.version), "tags": tags}


def incremental_tags(incremental: dict[str, Any]) -> dict[str, str]:
    """The forgetting guard's decision record as version tags: verdict, the full record
    line, and per side the rows, both metrics with 95% intervals and the p-value."""
    tags = {"incremental_verdict": incremental["verdict"],
            "incremental_champion": str(incremental.get("champion_version")),
            "incremental_decision": incremental["reason"][:5000]}
    record = incremental.get("record") or {}
    for side in ("new", "old"):
        c = record.get(side)
        if not c:
            continue
        tags[f"incremental_{side}_rows"] = str(c["n"])
        tags[f"incremental_{side}_champion"] = _with_ci(c["metric_a"], c["ci_a"])
        tags[f"incremental_{side}_candidate"] = _with_ci(c["metric_b"], c["ci_b"])
        tags[f"incremental_{side}_p"] = f"{c['p_value']:.6g} ({c['test']})"
    return tags


def _with_ci(value: float, ci: list[float]) -> str:
    return f"{value:.4f} [{ci[0]:.4f}, {ci[1]:.4f}]"


def record_no_change(ctx: RunContext, model: str, result: dict[str, Any]) -> dict[str, Any]:
    """A fine-tune the guard found no change in is not registered: the decision is kept
    on the champion it was compared with (tags) and in the run's registry.json."""
    incremental = result["incremental"]
    champion = str(incremental["champion_version"])
    reason = (f"incremental fine-tune of v{champion}: no change needed, champion kept, no "
              f"version registered: {incremental['reason']}")
    # prefixed: a champion that was itself a fine-tune keeps its own incremental_* record
    tags = {k.replace("incremental_", "incremental_check_", 1): v
            for k, v in incremental_tags(incremental).items()}
    tags["incremental_check_run"] = f"{ctx.dag_id} / {ctx.run_id}"
    for key, value in tags.items():
        client.set_version_tag(model, champion, key, value)
    return {"version": None, "tag": "no change needed", "reason": reason, "aliases": [],
            "champion_before": champion, "tags": tags}


def register_run_models(ctx: RunContext, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    from training_lib.registry.history_store import HistoryStore
    from training_lib.registry.promotion import decide_and_apply

    fingerprint = (ctx.read_json(ctx.folder.scan, {}) or {}).get("fingerprint", "")
    decisions: dict[str, Any] = {}
    for model, result in sorted(results.items()):
        if result.get("reused"):  # an earlier run's version: nothing to register or decide
            decisions[model] = reused_decision(model, result["reused"])
            log.info("%s: %s", model, result["reused"]["line"])
            continue
        if (result.get("incremental") or {}).get("verdict") == "no change needed":
            decisions[model] = record_no_change(ctx, model, result)
            log.info("%s: %s", model, decisions[model]["reason"])
            continue
        registered = register_version(ctx, model, result, fingerprint)
        decision = decide_and_apply(ctx, model, registered["version"], result)
        # the report shows the model's latest alias moves (hand edits included)
        decisions[model] = {**registered, **decision,
                            "alias_history": HistoryStore().alias_events(model, HISTORY_IN_REPORT)}
        log.info("%s: version %s -> %s (%s)", model, registered["version"], decision["tag"],
                 decision["reason"])
    return decisions


def reused_decision(model: str, reused: dict[str, Any]) -> dict[str, Any]:
    """registry.json's entry of a model whose earlier version was reused (pipeline/reuse.py):
    the version, the aliases it holds now, and "reused v<N> from run <R>"."""
    from training_lib.registry.history_store import HistoryStore

    version = str(reused["version"])
    aliases = sorted(a for a, v in (client.get_aliases(model) or {}).items() if v == version)
    return {"version": version, "tag": "reused", "aliases": aliases, "reason": reused["line"],
            "reused_from": reused["run_id"],
            "alias_history": HistoryStore().alias_events(model, HISTORY_IN_REPORT)}
