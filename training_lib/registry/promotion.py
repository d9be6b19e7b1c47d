"""Automatic tags and aliases for a new model version.

Rules (margin and floors from the preset's `promotion` section):
- below a floor (test metric < min_metric, or lift over the trivial baseline < min_lift,
  or no lift at all: matching the baseline, even at 1.0 or 0.0, is never a release):
  tag `regressed`, never promoted;
- trailing the classical reference (training/references/, same test split) by more than
  `max_gap_to_reference`: tag `below_reference`, never promoted;
- no champion yet: tag `release`, alias `champion`;
- better than the champion by at least `margin`: tag `release`, `champion` moves to it
  and `previous` to the old champion;
- within the margin: tag `candidate`, alias `challenger`;
- worse: tag `regressed`.
Every tag carries its reason with the numbers. Tags and aliases are set through
`aliases.py`, which keeps the registry's invariants and appends every change to the
history store (MLflow keeps none).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from training_lib.runs.context import RunContext
from training_lib.registry import aliases, client

EPS = 1e-9  # metrics are floats: a lift of exactly the margin must count as reaching it


@dataclass(frozen=True)
class Decision:
    tag: str  # release | candidate | regressed | below_reference | rejected (incremental)
    reason: str
    aliases: tuple[str, ...]  # aliases to point at the new version


def decide(metric: float, baseline: float, champion_metric: float | None, *, margin: float,
           min_metric: float, min_lift: float, metric_name: str = "metric",
           reference: float | None = None, test_metric: float | None = None,
           max_gap_to_reference: float = 0.01) -> Decision:
    """The tag and aliases of a new version (rules: module doc). `reference` is the
    classical reference's score on the test split, compared with `test_metric` (default
    `metric`, which may be a frozen-set score)."""
    lift = metric - baseline
    if metric < min_metric - EPS:
        return Decision("regressed", f"{metric_name} {metric:.4f} < floor {min_metric:.4f}", ())
    if lift < min_lift - EPS:
        return Decision("regressed", f"{metric_name} {metric:.4f} beats the trivial baseline "
                                     f"{baseline:.4f} by {lift:+.4f} < required {min_lift:+.4f}", ())
    if lift <= EPS:  # whatever min_lift says: equal to the baseline is no model at all
        return Decision("regressed", f"{metric_name} {metric:.4f} does not beat the trivial "
                                     f"baseline {baseline:.4f} (lift {lift:+.4f}): no lift", ())
    below = below_reference(test_metric if test_metric is not None else metric, reference,
                            max_gap_to_reference, metric_name)
    if below is not None:
        return below
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


def below_reference(test_metric: float, reference: float | None, max_gap: float,
                    metric_name: str = "metric") -> Decision | None:
    """`below_reference` when the test metric trails the reference by more than `max_gap`."""
    if reference is None:
        return None
    gap = reference - test_metric
    if gap <= max_gap + EPS:
        return None
    return Decision("below_reference", f"test {metric_name} {test_metric:.4f} trails the "
                                       f"classical reference {reference:.4f} by {gap:.4f} > "
                                       f"max_gap_to_reference {max_gap}", ())


def champion_version(model: str) -> Any | None:
    """The version the `champion` alias points at; None when there is none or the model is
    not registered (a server that cannot answer raises RegistryError: an outage must never
    look like "no champion"). Hand edits of the aliases are recorded and repaired first."""
    if client.get_registered_model(model) is None:
        return None
    champion = aliases.reconcile(model).get(aliases.CHAMPION)
    return client.get_version(model, champion) if champion is not None else None


def champion_metric(version: Any, metric: str) -> float | None:
    """The champion's score on the frozen evaluation set (kept as a tag when it trained)."""
    value = (version.tags or {}).get(f"frozen_{metric}")
    return float(value) if value is not None else None


def _apply_guard(model: str, version: str, incremental: dict[str, Any],
                 actor: str | None = None) -> dict[str, Any]:
    """Incremental versions: promoted only when the forgetting guard accepted them."""
    before = champion_version(model)
    if incremental.get("accepted"):
        decision = Decision("release", f"incremental fine-tune of v{incremental['champion_version']}"
                                       f" accepted: {incremental['reason']}", ("champion",))
    else:
        decision = Decision("rejected", f"incremental fine-tune of v{incremental['champion_version']}"
                                        f" rejected: {incremental['reason']}", ())
    _apply(model, version, decision, actor)
    return {"tag": decision.tag, "reason": decision.reason, "aliases": list(decision.aliases),
            "champion_before": str(before.version) if before else None}


def _apply(model: str, version: str, decision: Decision, actor: str | None = None) -> None:
    aliases.set_status(model, version, decision.tag, decision.reason, action="promote",
                       actor=actor)
    for alias in decision.aliases:
        move_alias(model, alias, version, decision.reason, actor=actor)


def _tag_float(version: Any, key: str) -> float | None:
    value = (version.tags or {}).get(key)
    return float(value) if value is not None else None


def move_alias(model: str, alias: str, version: str, why: str, action: str = "promote",
               actor: str | None = None) -> None:
    """Point `alias` at `version`: `champion` through `aliases.move_champion` (a rollback
    demotes the old champion), any other alias through `aliases.point_alias`."""
    if alias == aliases.CHAMPION:
        aliases.move_champion(model, version, action=action, reason=why, actor=actor,
                              demote_old=action != "promote")
    else:
        aliases.point_alias(model, alias, version, action=action, reason=why, actor=actor)


def pipeline_actor(ctx: Any) -> str | None:
    """The actor recorded for a pipeline's decisions: its DAG and run."""
    dag_id, run_id = getattr(ctx, "dag_id", None), getattr(ctx, "run_id", None)
    return f"pipeline {dag_id} / {run_id}" if dag_id else None


def decide_and_apply(ctx: RunContext, model: str, version: str,
                     result: dict[str, Any]) -> dict[str, Any]:
    incremental = result.get("incremental") or {}
    actor = pipeline_actor(ctx)
    if incremental.get("mode") == "finetune":
        return _apply_guard(model, version, incremental, actor)
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
                      min_metric=p.min_metric, min_lift=p.min_lift, metric_name=result["metric"],
                      reference=result.get("reference"), test_metric=result["test_metric"],
                      max_gap_to_reference=p.max_gap_to_reference)
    if decision.tag == "below_reference":  # the test split, not the frozen set: no note
        decision = Decision(decision.tag, f"{decision.reason} "
                            f"({result.get('reference_model') or 'reference'})", ())
    else:
        decision = Decision(decision.tag, f"{decision.reason} ({note})", decision.aliases)
    _apply(model, version, decision, actor)
    return {"tag": decision.tag, "reason": decision.reason, "aliases": list(decision.aliases),
            "champion_before": str(champion.version) if champion else None}
