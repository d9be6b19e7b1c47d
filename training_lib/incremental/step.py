"""The incremental pieces of a run: detecting new data against each champion's training
data (a stage) and, in the training worker, turning a model's dataset and fresh model
into a fine-tuning from the champion, then judging it against the champion."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from training_lib.data.dataset import Dataset
from training_lib.incremental import baseline, finetune, guard, recipe
from training_lib.incremental.snapshot import load_snapshot
from training_lib.runs.context import RunContext

log = logging.getLogger(__name__)


def detect_new_data(ctx: RunContext) -> dict[str, Any]:
    """Per routed model, the files its champion was not trained on (see baseline.py) and
    not yet judged by the last successful incremental run; writes incremental.json."""
    from training_lib.registry.promotion import champion_version

    previous = load_snapshot(ctx.dag_id)
    routing = ctx.read_json(ctx.folder.routing, {}) or {}
    left_out = routing.get("left_out", {})
    per_model: dict[str, int] = {}
    entries: dict[str, dict[str, Any]] = {}
    for model in routing.get("models", []):
        if model in left_out:
            continue
        base = baseline.resolve(model, champion_version(model), previous,
                                lambda m=model: baseline.training_presets(m, ctx.preset.name))
        entry = entries[model] = {**base.to_json(), "skip": True, "reason": base.note}
        if base.source == baseline.NONE:
            continue
        manifest = ctx.read_json(ctx.folder.manifest(model), {}) or {}
        new = [f["content_hash"] for f in manifest.get("files", [])
               if f["content_hash"] not in base.files]
        judged = (baseline.judged_files(previous, model) if base.source == baseline.CHAMPION
                  else base.files)
        fresh = [h for h in new if h not in judged]
        entry.update(new_files=len(new), not_yet_judged=len(fresh))
        if not new:
            entry["reason"] = f"{model}: no new data: every file is in {base.note}"
        elif not fresh:
            entry["reason"] = (f"{model}: the {len(new)} files new to champion "
                               f"v{base.champion_version} were judged by run "
                               f"{previous['run_id'] if previous else '?'}; nothing newer since")
        else:
            entry.update(skip=False, reason=f"{model}: {len(new)} files new to {base.note}")
            per_model[model] = len(new)
    summary = {"previous_run": previous.get("run_id") if previous else None, "models": entries,
               "new_files_per_model": per_model, "models_with_new_data": sorted(per_model)}
    since = f"since run {previous['run_id']}" if previous else "for any champion"
    if per_model:
        summary["message"] = ("new data (against each champion's training data): " +
                              ", ".join(f"{m} {n} files" for m, n in sorted(per_model.items())))
    else:
        summary["message"] = (f"nothing new {since}: no model has files its champion was not "
                              "trained on and that were not judged yet; skipping training")
    summary["proceed"] = bool(per_model)
    ctx.write_json(ctx.folder.incremental, summary)
    return summary


def prepare_finetune(ctx: RunContext, model_name: str, task: str, dataset: Dataset,
                     model: Any) -> tuple[Dataset, dict[str, Any]]:
    """Seed `model` with the champion's weights and cut the training rows to new + replay
    (recipe.py; a distilling classifier leaves compiled for probability targets: the
    worker calls `recipe.finish_finetune` after the fit).

    The result's mode is "finetune", or "waiting" (fewer new-data test rows than
    `incremental.min_new_test_rows`: nothing is trained and the new data accumulates) or
    "skipped" (no baseline, see baseline.py); then the worker trains nothing."""
    settings = ctx.settings.incremental
    assert settings is not None, "prepare_finetune runs for incremental presets only"
    base, old_keys = _baseline(ctx, model_name)
    if old_keys is None:
        return dataset, {"mode": "skipped", "reason": base.note, "baseline": base.to_json()}
    old_test, new_test = finetune.old_new_index(dataset, "test", old_keys)
    counts = {"old_test": int(len(old_test)), "new_test": int(len(new_test))}
    waiting = guard.waiting_for_rows(len(new_test), settings.min_new_test_rows)
    if waiting is not None:
        log.info("%s: %s", model_name, waiting.reason)
        return dataset, {"mode": "waiting", "verdict": waiting.verdict,
                         "reason": f"{model_name}: {waiting.reason}", "counts": counts,
                         "champion_version": base.champion_version, "baseline": base.to_json(),
                         "record": waiting.record}
    from training_lib.registry import client

    version = client.get_version(model_name, str(base.champion_version))
    champion_model, champion_classes = load_version_model(model_name, version)
    before = finetune.row_outcomes(task, champion_model, champion_classes, dataset, old_keys)
    tuned, seeded = recipe.seed_finetune(task, champion_model, champion_classes, model, dataset,
                                         old_keys, replay_ratio=settings.replay_ratio,
                                         distillation_weight=settings.distillation_weight,
                                         seed=ctx.settings.seed)
    log.info("%s: fine-tuning champion v%s on %s", model_name, base.champion_version,
             seeded["counts"])
    return tuned, {"mode": "finetune", "champion_version": base.champion_version,
                   "baseline": base.to_json(), "before": before.score(dataset, old_keys).__dict__,
                   "counts": {**counts, **seeded["counts"]}, "notes": seeded["notes"],
                   "distillation": seeded["distillation"], "champion_classes": champion_classes,
                   PRIVATE_KEYS: old_keys, PRIVATE_ROWS: before}


PRIVATE_KEYS, PRIVATE_ROWS = "_old_keys", "_champion_rows"  # in-process only, never saved


def _baseline(ctx: RunContext, model: str) -> tuple[baseline.Baseline, set[str] | None]:
    """The baseline detect_new_data chose (resolved again when the run has none), and the
    sample keys it saw (None: no baseline)."""
    snapshot = load_snapshot(ctx.dag_id)
    entry = ((ctx.read_json(ctx.folder.incremental, {}) or {}).get("models") or {}).get(model)
    if entry is None:
        from training_lib.registry.promotion import champion_version

        base = baseline.resolve(model, champion_version(model), snapshot,
                                lambda: baseline.training_presets(model, ctx.preset.name))
    else:
        base = baseline.Baseline(model, entry["source"], entry["note"],
                                 entry.get("champion_version"), keys_file=entry.get("keys_file"))
    if base.source == baseline.CHAMPION:
        keys = json.loads(Path(str(base.keys_file)).read_text())
    elif base.source == baseline.SNAPSHOT:
        keys = (snapshot or {}).get("models", {}).get(model) or {}
    else:
        return base, None
    return base, {k for split in keys.values() for k in split}


def judge_finetune(ctx: RunContext, task: str, model: Any, dataset: Dataset,
                   info: dict[str, Any], metric: str = "metric") -> dict[str, Any]:
    """After training: champion and candidate on the same old/new test rows, paired
    tests, and the guard's verdict with its record (guard.py)."""
    public = {k: v for k, v in info.items() if not k.startswith("_")}
    if info.get("mode") != "finetune":
        return public
    settings = ctx.settings.incremental
    old_keys, champion = info[PRIVATE_KEYS], info[PRIVATE_ROWS]
    candidate = finetune.row_outcomes(task, model, dataset.classes, dataset, old_keys)
    sides = finetune.compare(champion, candidate, dataset, old_keys, seed=ctx.settings.seed)
    assert sides["new"] is not None, "prepare_finetune waits without new test rows"
    verdict = guard.judge(sides["old"], sides["new"], epsilon=settings.forgetting_epsilon,
                          alpha=settings.significance_level, metric=metric)
    return {**public, "after": candidate.score(dataset, old_keys).__dict__,
            "verdict": verdict.verdict, "accepted": verdict.accepted, "reason": verdict.reason,
            "record": verdict.record}


def load_version_model(model_name: str, version: Any) -> tuple[Any, list[str] | None]:
    import training_lib.models.blocks  # noqa: F401  (custom layers)
    from training_lib.registry import client

    loaded = client.load_keras_model(model_name, str(version.version))
    classes = (version.tags or {}).get("classes")
    return loaded, json.loads(classes) if classes else None
