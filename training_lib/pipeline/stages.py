"""What each DAG task does. Each stage takes a `RunContext`, reads and writes the run
folder, and returns a small JSON-able dict (paths and ids) for XCom.

scan_data -> validate_data (+ routing) -> allocate_resources -> [check_resources ->
train_model] per model -> evaluate -> register_versions -> render_report
"""
from __future__ import annotations

import json
import logging
from typing import Any, Callable

from training_lib import settings
from training_lib.data.records import FileRecord
from training_lib.errors import DataFolderError, NoDataForModel, RunFailed, ValidationFailed
from training_lib.runs.context import RunContext
from training_lib.runs.outcome import incremental_skip_reason, model_results, trainable_models

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]


def read_records(ctx: RunContext) -> list[FileRecord]:
    lines = ctx.folder.records.read_text().splitlines()
    return [FileRecord.from_json(json.loads(line)) for line in lines if line.strip()]


def scan_data(ctx: RunContext, progress: Progress | None = None) -> dict[str, Any]:
    from training_lib.data.catalog import Catalog
    from training_lib.data.scan.scanner import scan_folder
    from training_lib.registry import tracking

    from training_lib.data.scan.roots import FIX, check_data_folder

    check_data_folder(ctx.data_root)  # missing or empty: fail before opening anything
    catalog = Catalog(settings.store_dir() / "catalog.sqlite")
    try:
        report = scan_folder(ctx.data_root, catalog, progress=progress,
                             min_class_files=ctx.settings.min_class_files)
    finally:
        catalog.close()
    if not report.records:
        raise DataFolderError(f"data folder {str(ctx.data_root)!r}: the scan kept no file "
                              "(all hidden, excluded or unreadable); " + FIX)
    with open(ctx.folder.records, "w", encoding="utf-8") as fh:
        for rec in report.records:
            fh.write(json.dumps(rec.to_json()) + "\n")
    by_type: dict[str, int] = {}
    flags: dict[str, int] = {}
    for rec in report.records:
        by_type[rec.type] = by_type.get(rec.type, 0) + 1
        for flag in rec.flags:
            flags[flag] = flags.get(flag, 0) + 1
    summary = {"data_root": str(ctx.data_root), "files": len(report.records), "by_type": by_type,
               "flags": flags, "new": len(report.new), "changed": len(report.changed),
               "deleted": len(report.deleted), "unchanged": report.unchanged,
               "fingerprint": report.fingerprint, "elapsed_s": report.elapsed_s,
               "labels": [g.to_json() for g in report.labels]}
    ctx.write_json(ctx.folder.scan, summary)
    parent = tracking.parent_run_id(ctx.run_dir, experiment=ctx.dag_id, run_name=ctx.run_id,
                                    tags={**ctx.tags(), "dataset_fingerprint": report.fingerprint})
    tracking.log_dataset(parent, ctx.data_root, report.fingerprint, len(report.records))
    return {"run_dir": str(ctx.run_dir), "fingerprint": report.fingerprint,
            "files": len(report.records)}


def validate_data(ctx: RunContext) -> dict[str, Any]:
    """Labels as the preset declares or infers them, Great Expectations over the catalog,
    then routing to models (manifests)."""
    from training_lib.data.expectations import validate_catalog
    from training_lib.data.labels import preset_labels
    from training_lib.data.routing import route
    from training_lib.config.model_specs import MODELS
    from training_lib.models.resolve import spec_for

    records = read_records(ctx)
    labelling = preset_labels(records, ctx.settings, ctx.data_root)
    records = labelling.apply(records)
    targets = list(ctx.selected_models) or None
    specs = {name: spec_for(name, ctx.settings) for name in (targets or MODELS)}
    supervised = {k for s in specs.values() if s.supervised for k in s.consumes
                  if not k.startswith("records:")}
    summary = validate_catalog(records, preset=ctx.settings, supervised_types=supervised,
                               out_dir=ctx.folder.validation_dir)
    ctx.write_json(ctx.folder.validation, {"success": summary.success, "critical": summary.critical,
                                       "warnings": summary.warnings,
                                       "docs_path": str(summary.docs_path or "")})
    if not summary.success:
        more = f" (+{len(summary.critical) - 1} more)" if len(summary.critical) > 1 else ""
        raise ValidationFailed(
            f"critical data check failed on {str(ctx.data_root)!r} ({_held(ctx, len(records))}): "
            f"{summary.critical[0]}{more}; "
            f"fix the data or the preset's datasets/labels (details: "
            f"{summary.docs_path or ctx.folder.validation})")
    routing = route(records, ctx.settings, specs, targets)
    for model, files in routing.manifests.items():
        ctx.write_json(ctx.folder.manifest(model), {"model": model, "counts": routing.counts[model],
                                                   "files": [r.to_json() for r in files]})
    trainable = [m for m in routing.manifests if m not in routing.left_out]
    features = build_features(ctx, routing.manifests) if trainable else {}
    ctx.write_json(ctx.folder.routing, {"models": sorted(routing.manifests),
                                    "features": features,
                                    "left_out": routing.left_out, "counts": routing.counts,
                                    "unusable": routing.unusable, "below_floor": routing.below_floor,
                                    "not_selected": routing.not_selected,
                                    "labels": labelling.to_json(),
                                    "label_fields": labelling.label_fields,
                                    "dropped_classes": routing.dropped_classes})
    if not trainable:
        raise DataFolderError(no_data_message(ctx, routing, len(records)))
    return {"run_dir": str(ctx.run_dir), "models": sorted(routing.manifests),
            "left_out": routing.left_out, "warnings": len(summary.warnings)}


def no_data_message(ctx: RunContext, routing: Any, n_files: int) -> str:
    """One line: no model got data, what the folder holds, why each model was left out."""
    why = "; ".join(f"{m}: {reason}" for m, reason in sorted(routing.left_out.items()))
    return (f"no data for any model in {str(ctx.data_root)!r} ({_held(ctx, n_files)})"
            + (f"; {why}" if why else "")
            + "; add files the models read (images, audio, text, JSON records) or pass "
              "another folder (train --data DIR)")


def _held(ctx: RunContext, n_files: int) -> str:
    """"20 files: 20 unknown": what the scan found, by file type."""
    by_type = (ctx.read_json(ctx.folder.scan, {}) or {}).get("by_type", {})
    held = ", ".join(f"{n} {t}" for t, n in sorted(by_type.items(), key=lambda kv: -kv[1]))
    return f"{n_files} files" + (f": {held}" if held else "")


def build_features(ctx: RunContext, manifests: dict[str, list[FileRecord]],
                   progress: Progress | None = None) -> dict[str, Any]:
    """Decode every routed file once, in parallel, into the shared feature cache
    (cache hits from earlier runs and presets are skipped)."""
    import os

    from training_lib.data.features.cache import FeatureCache

    unique = {r.content_hash: r for files in manifests.values() for r in files
              if r.type not in ("json", "tabular")}
    if not unique:
        return {"computed": {}, "cached": {}, "failed": []}
    stats = FeatureCache().build(ctx.data_root, list(unique.values()), ctx.settings.preprocessing,
                                 workers=max(1, min(4, os.cpu_count() or 1)), progress=progress)
    if stats.get("failed"):
        log.warning("features not computed for %d files: %s", len(stats["failed"]),
                    stats["failed"][:5])
    return stats


def allocate_resources(ctx: RunContext, nvml: Any = None,
                       exclude_gpus: frozenset[int] = frozenset()) -> dict[str, Any]:
    plan = plan_for(ctx, trainable_models(ctx), nvml=nvml, exclude_gpus=exclude_gpus)
    plan.save(ctx.folder.plan)
    return {"run_dir": str(ctx.run_dir), "pools": plan.pools,
            "devices": {m: p.device for m, p in plan.models.items()}}


def plan_for(ctx: RunContext, names: list[str], nvml: Any = None,
             exclude_gpus: frozenset[int] = frozenset()) -> Any:
    """A resource plan for `names` from a fresh probe of this machine."""
    from training_lib.models.resolve import spec_for
    from training_lib.resources.plan import ModelNeed, plan_resources
    from training_lib.resources.probe import probe_machine

    probe = probe_machine(nvml, disk_path=ctx.run_dir)
    needs = []
    for name in names:
        spec = spec_for(name, ctx.settings)
        needs.append(ModelNeed(name, spec.footprint_mb,
                               ctx.settings.for_model(name, "batch_size"),
                               ctx.settings.for_model(name, "urgency")))
    return plan_resources(probe, needs, use_gpu=ctx.settings.use_gpu,
                          gpu_packing=ctx.settings.gpu_packing,
                          distributed=ctx.settings.distributed_training,
                          mixed_precision=ctx.settings.mixed_precision, exclude_gpus=exclude_gpus)


def check_resources(ctx: RunContext, model: str) -> tuple[bool, str]:
    """Can `model` start now on its planned device? (polled by wait_for_resources)"""
    from training_lib.resources.plan import ResourcePlan
    from training_lib.resources.probe import probe_machine

    plan = ResourcePlan.load(ctx.folder.plan).models.get(model)
    if plan is None:
        return True, f"{model} has no plan entry (no data): nothing to wait for"
    probe = probe_machine(disk_path=ctx.run_dir)
    if plan.gpu_indices:
        free = {g.index: g.memory_free_mb for g in probe.gpus}
        short = [i for i in plan.gpu_indices if free.get(i, 0) < (plan.gpu_memory_mb or 0)]
        if short:
            return False, (f"GPU {short} has less than the planned {plan.gpu_memory_mb} MB free "
                           f"(free: {free})")
    elif probe.memory_available_mb < plan.memory_mb:
        return False, (f"{probe.memory_available_mb} MB of memory available, the plan needs "
                       f"{plan.memory_mb} MB")
    return True, f"{model}: {plan.device} has the planned resources"


def train_model(ctx: RunContext, model: str, round_index: int = 1,
                log_line: Callable[[str], None] = print) -> dict[str, Any]:
    """Train one model in its worker process; record any fault; on a retry, move off a
    GPU that failed and stop early on an unhealthy node (so the retry runs elsewhere)."""
    from training_lib.errors import TrainingError
    from training_lib.resources.health import check_health
    from training_lib.pipeline import fault_log
    from training_lib.pipeline.launcher import run_worker
    from training_lib.pipeline.reuse import reuse_result

    routing = ctx.read_json(ctx.folder.routing, {})
    if model not in ctx.selected_models and ctx.selected_models:
        raise NoDataForModel(f"{model} was not selected in the trigger form")
    if model not in trainable_models(ctx):
        reason = routing.get("left_out", {}).get(model, "routing gave it no data")
        raise NoDataForModel(f"{model}: skipped, {reason}")
    no_news = incremental_skip_reason(ctx, model)
    if no_news:
        raise NoDataForModel(no_news)
    reused = reuse_result(ctx, model, round_index)
    if reused is not None:  # inputs unchanged since a registered result: nothing to train
        line = reused["reused"]["line"]
        log_line(f"{model}: {line} (inputs unchanged; trigger with force_retrain to train "
                 "again)")
        return {"run_dir": str(ctx.run_dir), "model": model, "round": round_index,
                "test_metric": reused["test_metric"], "mlflow_run_id": reused["mlflow_run_id"],
                "reused": line}
    fault_log.note_lost_tries(ctx, model, round_index)
    health = check_health(ctx.run_dir, min_disk_gb=(0.0 if ctx.settings.auto_pause_on_low_disk
                                                    else ctx.settings.min_disk_space_gb))
    if not health.ok:
        message = (f"node unhealthy: {'; '.join(health.problems)}; this try stops so that the "
                   "retry can run on a healthy worker")
        fault_log.record_fault(ctx, model=model, round=round_index, **{"try": ctx.try_number},
                               device="node", kind="unhealthy_node", error=message, step=None)
        raise TrainingError(f"{model}: {message}")
    plan = plan_after_faults(ctx, model, round_index, set(health.bad_gpus))
    try:
        result = run_worker(ctx.run_dir, model, plan, round_index=round_index,
                            try_number=ctx.try_number,
                            stall_timeout=ctx.settings.stall_timeout_seconds, log_line=log_line)
    except Exception as e:
        fault_log.record_fault(ctx, model=model, round=round_index, **{"try": ctx.try_number},
                               device=plan.device, kind=fault_log.kind_of(e),
                               step=fault_log.step_reached(ctx, model, round_index),
                               **fault_log.error_fields(e))
        raise
    if result.get("untrained"):  # incremental: nothing was trained
        raise NoDataForModel(result["incremental"]["reason"])
    return {"run_dir": str(ctx.run_dir), "model": model, "round": round_index,
            "test_metric": result["test_metric"], "mlflow_run_id": result["mlflow_run_id"]}


def plan_after_faults(ctx: RunContext, model: str, round_index: int, bad_gpus: set[int]) -> Any:
    """The model's planned entry, re-planned away from GPUs that failed it or report errors."""
    from training_lib.pipeline import fault_log
    from training_lib.resources.plan import ResourcePlan

    plan = ResourcePlan.load(ctx.folder.plan).models[model]
    failed = set(bad_gpus)
    for fault in fault_log.read_faults(ctx.run_dir):
        device = str(fault.get("device", ""))
        if fault.get("model") == model and device.startswith("gpu:"):
            failed |= {int(i) for i in device[4:].split(",") if i.isdigit()}
    if not failed & set(plan.gpu_indices):
        return plan
    moved = plan_for(ctx, [model], exclude_gpus=frozenset(failed)).models[model]
    fault_log.record_fault(ctx, model=model, round=round_index, **{"try": ctx.try_number},
                           device=moved.device, kind="migrated", step=None,
                           error=f"moved from {plan.device} to {moved.device}: GPU(s) "
                                 f"{sorted(failed)} failed earlier or report errors")
    return moved


def share_knowledge(ctx: RunContext, round_index: int) -> dict[str, Any]:
    """Close a round: run the preset's collaboration strategies over the models that
    finished it and write knowledge/round_<k>/ (summary.json names the models whose
    knowledge was skipped, and why). The next round starts from their weights."""
    from training_lib.collab.share import share_run_round

    models = list(ctx.selected_models or trainable_models(ctx))
    summary = share_run_round(ctx, round_index, models, read_records(ctx))
    return {"run_dir": str(ctx.run_dir), "round": round_index,
            "finished": summary["finished"], "failed": summary["skipped_failed"]}


def evaluate(ctx: RunContext) -> dict[str, Any]:
    """evaluation.json: per expected model trained (with its metrics), skipped, failed
    (its training started and did not finish) or not started; RunFailed when an earlier
    task failed the run for good."""
    from training_lib.runs.failure import failure_line, read_failure
    from training_lib.runs.faults import read_faults

    results = model_results(ctx)
    routing = ctx.read_json(ctx.folder.routing, {})
    expected = list(ctx.selected_models) or routing.get("models", [])
    failure = read_failure(ctx.run_dir)
    faulted = {f.get("model") for f in read_faults(ctx.run_dir)}
    rows = {}
    for model in expected:
        if model in results:
            r = results[model]
            rows[model] = {"status": "trained", "metric": r["metric"], "test": r["test_metric"],
                           "baseline": r["baseline"], "lift": r["test_metric"] - r["baseline"],
                           "n_test": r["n_test"], "mlflow_run_id": r["mlflow_run_id"]}
            if r.get("reference") is not None:  # the classical reference on the same split
                rows[model].update({"reference": r["reference"],
                                    "reference_model": r.get("reference_model", ""),
                                    "reference_lift": r["test_metric"] - r["reference"],
                                    "reference_seconds": r.get("reference_seconds")})
            if r.get("stop_reason"):  # where training stopped and why (config/schedule.py)
                rows[model].update({"stopped_at_epoch": r.get("stopped_at_epoch"),
                                    "epoch_budget": r.get("epochs"),
                                    "stop_reason": r["stop_reason"]})
            if (r.get("label_issues") or {}).get("n_flagged") is not None:
                rows[model]["label_issues"] = r["label_issues"]["n_flagged"]
            if r.get("reused"):
                rows[model]["reused"] = r["reused"]["line"]
        elif model in routing.get("left_out", {}):
            rows[model] = {"status": "skipped", "reason": routing["left_out"][model]}
        elif incremental_skip_reason(ctx, model):
            rows[model] = {"status": "skipped", "reason": incremental_skip_reason(ctx, model)}
        elif not ctx.folder.rounds(model) and model not in faulted:
            rows[model] = {"status": "not started", "reason": (
                f"run failed at {failure['task']}" if failure else "its train task never ran")}
        else:
            rows[model] = {"status": "failed", "reason": "training did not finish (see task log)"}
    ctx.write_json(ctx.folder.evaluation, rows)
    if failure:
        raise RunFailed(failure_line(failure))
    waiting_night = bool(rows) and all(incremental_skip_reason(ctx, m) for m in rows)
    if not any(r["status"] == "trained" for r in rows.values()) and not waiting_night:
        raise NoDataForModel("no model finished training; nothing to evaluate")
    return {"run_dir": str(ctx.run_dir),
            "trained": sorted(m for m, r in rows.items() if r["status"] == "trained")}


def register_versions(ctx: RunContext) -> dict[str, Any]:
    from training_lib.registry.versions import register_run_models

    from training_lib.pipeline.reuse import remember_versions

    results = model_results(ctx)
    decisions = register_run_models(ctx, results)
    ctx.write_json(ctx.folder.registry, decisions)
    remember_versions(ctx, results, decisions)  # a later run with the same inputs reuses them
    return {"run_dir": str(ctx.run_dir),
            "versions": {m: d.get("version") for m, d in decisions.items()}}


def render_report(ctx: RunContext) -> dict[str, Any]:
    from training_lib.reports.build import build_report, report_link

    paths = build_report(ctx)
    link = report_link(ctx.run_dir)
    log.info("run report (also the 'Run report' link of the render_report task): %s", link)
    return {"run_dir": str(ctx.run_dir), "link": link, **{k: str(v) for k, v in paths.items()}}


def detect_new_data(ctx: RunContext) -> dict[str, Any]:
    """Incremental presets: is there anything new since the last successful run?"""
    from training_lib.incremental.step import detect_new_data as detect

    summary = detect(ctx)
    return {"run_dir": str(ctx.run_dir), **summary}


def remember_success(ctx: RunContext) -> None:
    """A run that ended well becomes the baseline the next incremental run diffs against."""
    from training_lib.incremental.snapshot import save_snapshot

    files = [r.content_hash for r in read_records(ctx)]
    save_snapshot(ctx, files, list(model_results(ctx)))
