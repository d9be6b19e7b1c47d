"""Automatic tags and aliases for a new model version.

Rules (margin and floors from the preset's `promotion` section):
- below a floor (test metric < min_metric, or lift over the trivial baseline < min_lift):
  tag `regressed`, never promoted;
- no champion yet: tag `release`, alias `champion`;
- better than the champion by at least `margin`: tag `release`, `champion` moves to it
  and `previous` to the old champion;
- within the margin: tag `candidate`, alias `challenger`;
- worse: tag `regressed`.
Every tag carries its reason with the numbers, and every alias move is appended to
the registered model's history (MLflow keeps none).
"""
from __future__ import annotations

import getpass
import json
import time
from dataclasses import dataclass
from typing import Any

from training_lib.runs.context import RunContext
from training_lib import settings
from training_lib.errors import RegistryError
from training_lib.registry import client

HISTORY_TAG = "alias_history"
EPS = 1e-9  # metrics are floats: a lift of exactly the margin must count as reaching it
MAX_HISTORY = 50


@dataclass(frozen=True)
class Decision:
    tag: str  # release | candidate | regressed | rejected (incremental, forgetting guard)
    reason: str
    aliases: tuple[str, ...]  # aliases to point at the new version


def decide(metric: float, baseline: float, champion_metric: float | None, *, margin: float,
           min_metric: float, min_lift: float, metric_name: str = "metric") -> Decision:
    lift = metric - baseline
    if metric < min_metric - EPS:
        return Decision("regressed", f"{metric_name} {metric:.4f} < floor {min_metric:.4f}", ())
    if lift < min_lift - EPS:
        return Decision("regressed", f"{metric_name} {metric:.4f} beats the trivial baseline "
                                     f"{baseline:.4f} by {lift:+.4f} < required {min_lift:+.4f}", ())
    if champion_metric is None:
        return Decision("release", f"no champion yet; {metric_name} {metric:.4f} is above the "
                                   f"floors (baseline {baseline:.4f})", ("champion",))
    delta = metric - champion_metric
    if delta >= margin - EPS:
        return Decision("release", f"{metric_name} {metric:.4f} beats champion "
                                   f"{champion_metric:.4f} by {delta:+.4f} >= margin {margin}",
                        ("champion",))
    if delta > -(margin - EPS):
        return Decision("candidate", f"{metric_name} {metric:.4f} vs champion "
                                     f"{champion_metric:.4f}: {delta:+.4f} within margin {margin}",
                        ("challenger",))
    return Decision("regressed", f"{metric_name} {metric:.4f} is worse than champion "
                                 f"{champion_metric:.4f} by {delta:+.4f}", ())


def champion_version(model: str) -> Any | None:
    """The version the `champion` alias points at; None when there is none (a server that
    cannot answer raises RegistryError: an outage must never look like "no champion")."""
    return client.get_version_by_alias(model, "champion")


def champion_metric(version: Any, metric: str) -> float | None:
    """The champion's score on the frozen evaluation set (kept as a tag when it trained)."""
    value = (version.tags or {}).get(f"frozen_{metric}")
    return float(value) if value is not None else None


def _apply_guard(model: str, version: str, incremental: dict[str, Any]) -> dict[str, Any]:
    """Incremental versions: promoted only when the forgetting guard accepted them."""
    before = champion_version(model)
    if incremental.get("accepted"):
        decision = Decision("release", f"incremental fine-tune of v{incremental['champion_version']}"
                                       f" accepted: {incremental['reason']}", ("champion",))
    else:
        decision = Decision("rejected", f"incremental fine-tune of v{incremental['champion_version']}"
                                        f" rejected: {incremental['reason']}", ())
    _apply(model, version, decision)
    return {"tag": decision.tag, "reason": decision.reason, "aliases": list(decision.aliases),
            "champion_before": str(before.version) if before else None}


def _apply(model: str, version: str, decision: Decision) -> None:
    client.set_version_tag(model, version, "status", decision.tag)
    client.set_version_tag(model, version, "status_reason", decision.reason)
    for alias in decision.aliases:
        move_alias(model, alias, version, decision.reason)


def _tag_float(version: Any, key: str) -> float | None:
    value = (version.tags or {}).get(key)
    return float(value) if value is not None else None


def record_history(model: str, action: str, alias: str, old: str | None, new: str,
                   why: str) -> None:
    registered = client.get_registered_model(model)
    if registered is None:
        raise RegistryError(f"cannot record the history of {model!r}: no such registered model "
                            f"on {settings.mlflow_tracking_uri()!r}")
    try:
        history = json.loads((registered.tags or {}).get(HISTORY_TAG, "[]"))
    except ValueError:
        history = []
    history.append({"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "who": getpass.getuser(),
                    "action": action, "alias": alias, "from": old, "to": new, "why": why})
    client.set_model_tag(model, HISTORY_TAG, json.dumps(history[-MAX_HISTORY:]))


def move_alias(model: str, alias: str, version: str, why: str, action: str = "promote") -> None:
    aliases = client.get_aliases(model)
    if aliases is None:
        raise RegistryError(f"cannot point alias {alias!r} of {model!r} at v{version}: no such "
                            f"registered model on {settings.mlflow_tracking_uri()!r}")
    old = aliases.get(alias)
    if alias == "champion" and old is not None and old != version:
        client.set_alias(model, "previous", old)
    client.set_alias(model, alias, version)
    record_history(model, action, alias, old, version, why)


def decide_and_apply(ctx: RunContext, model: str, version: str,
                     result: dict[str, Any]) -> dict[str, Any]:
    incremental = result.get("incremental") or {}
    if incremental.get("mode") == "finetune":
        return _apply_guard(model, version, incremental)
    p = ctx.settings.promotion
    champion = champion_version(model)
    champ_metric = champion_metric(champion, result["metric"]) if champion else None
    new_metric = result.get("frozen_metric")
    note = "on the frozen evaluation set"
    if champion is not None and (champ_metric is None or new_metric is None):
        # no comparable frozen scores (e.g. a hand-set champion from before the set
        # existed, or a changed input encoding): compare held-out test scores instead
        champ_metric = _tag_float(champion, f"test_{result['metric']}")
        new_metric = result["test_metric"]
        why = result.get("frozen_note") or "champion has no frozen-set score"
        note = f"on each version's own test split ({why})"
    decision = decide(new_metric if new_metric is not None else result["test_metric"],
                      result["baseline"], champ_metric, margin=p.margin,
                      min_metric=p.min_metric, min_lift=p.min_lift, metric_name=result["metric"])
    decision = Decision(decision.tag, f"{decision.reason} ({note})", decision.aliases)
    _apply(model, version, decision)
    return {"tag": decision.tag, "reason": decision.reason, "aliases": list(decision.aliases),
            "champion_before": str(champion.version) if champion else None}
