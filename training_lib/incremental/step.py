"""The incremental pieces of a run: detecting new data (a stage) and, in the training
worker, turning a model's dataset and fresh model into a fine-tuning from the champion."""
from __future__ import annotations

import json
import logging
from typing import Any

from training_lib.data.dataset import Dataset
from training_lib.incremental import finetune
from training_lib.incremental.snapshot import load_snapshot
from training_lib.runs.context import RunContext

log = logging.getLogger(__name__)


def detect_new_data(ctx: RunContext) -> dict[str, Any]:
    """Diff the routed files against the last successful run; write incremental.json."""
    previous = load_snapshot(ctx.dag_id)
    routing = ctx.read_json(ctx.folder.routing, {}) or {}
    seen = set(previous["files"]) if previous else set()
    per_model: dict[str, int] = {}
    for model in routing.get("models", []):
        manifest = ctx.read_json(ctx.folder.manifest(model), {}) or {}
        new = [f for f in manifest.get("files", []) if f["content_hash"] not in seen]
        if new:
            per_model[model] = len(new)
    summary = {"previous_run": previous.get("run_id") if previous else None,
               "new_files_per_model": per_model, "models_with_new_data": sorted(per_model)}
    if previous is None:
        summary["message"] = "first run of this preset: every model trains on all its data"
    elif not per_model:
        summary["message"] = (f"nothing new since run {previous['run_id']}: no new or changed "
                              "file for any model; skipping training")
    else:
        summary["message"] = (f"new data since run {previous['run_id']}: " +
                              ", ".join(f"{m} {n} files" for m, n in sorted(per_model.items())))
    summary["proceed"] = previous is None or bool(per_model)
    ctx.write_json(ctx.folder.incremental, summary)
    return summary


def prepare_finetune(ctx: RunContext, model_name: str, task: str, dataset: Dataset,
                     model: Any) -> tuple[Dataset, dict[str, Any]]:
    """Seed `model` with the champion's weights and cut the training rows to new + replay.

    Falls back to training on everything (mode "full") when there is no champion or no
    record of what the previous run saw; the reason is kept in the result."""
    settings = ctx.settings.incremental
    previous = (load_snapshot(ctx.dag_id) or {}).get("models", {}).get(model_name)
    from training_lib.registry.promotion import champion_version

    champion = champion_version(model_name)
    if settings is None or not previous or champion is None:
        why = ("no champion version yet" if champion is None else
               "no record of the samples the previous run saw")
        return dataset, {"mode": "full", "reason": why}
    old_keys = {k for keys in previous.values() for k in keys}
    champion_model, champion_classes = load_version_model(model_name, champion)
    before = finetune.score_old_new(task, champion_model, champion_classes, dataset, old_keys)
    notes = finetune.transfer_weights(champion_model, champion_classes, model, dataset.classes)
    tuned, counts = finetune.replay_dataset(dataset, old_keys, settings.replay_ratio,
                                            ctx.settings.seed)
    log.info("%s: fine-tuning champion v%s on %s", model_name, champion.version, counts)
    return tuned, {"mode": "finetune", "champion_version": str(champion.version),
                   "before": before.__dict__, "counts": counts, "notes": notes,
                   "old_keys": sorted(old_keys)}


def judge_finetune(ctx: RunContext, task: str, model: Any, dataset: Dataset,
                   info: dict[str, Any]) -> dict[str, Any]:
    """After training: old/new scores and the forgetting guard's verdict."""
    if info.get("mode") != "finetune":
        return {k: v for k, v in info.items() if k != "old_keys"}
    old_keys = set(info["old_keys"])
    after = finetune.score_old_new(task, model, dataset.classes, dataset, old_keys)
    before = finetune.Score(**info["before"])
    accepted, reason = finetune.forgetting_guard(before, after,
                                                 ctx.settings.incremental.forgetting_epsilon)
    return {**{k: v for k, v in info.items() if k != "old_keys"}, "after": after.__dict__,
            "accepted": accepted, "reason": reason}


def load_version_model(model_name: str, version: Any) -> tuple[Any, list[str] | None]:
    import training_lib.models.blocks  # noqa: F401  (custom layers)
    from training_lib.registry import client

    loaded = client.load_keras_model(model_name, str(version.version))
    classes = (version.tags or {}).get("classes")
    return loaded, json.loads(classes) if classes else None
