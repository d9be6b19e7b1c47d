"""Train one model of one DAG run in this process, top to bottom.

    python -m training_lib.pipeline.worker RUN_DIR MODEL [--round K] [--try N]

The launcher sets the resource plan's environment (devices, threads) before this
process starts, so the framework initialises under it. Steps: config -> plan ->
data -> model -> resume + fit with checkpoints -> test evaluation -> save + log ->
classical reference -> result.json. Exit code 0 with result.json written means success.

This module wires the engine (training/), monitoring, the registry and collaboration
together, so it sits above all of them, in pipeline/.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from training_lib import settings
from training_lib.config.model_specs import ModelSpec
from training_lib.config.schema import PresetModel
from training_lib.data.dataset import Dataset
from training_lib.data.records import FileRecord
from training_lib.errors import TrainingError
from training_lib.models.resolve import build_model, spec_for
from training_lib.pipeline.reference_step import reference_step
from training_lib.pipeline.worker_checks import (
    is_out_of_memory,
    low_disk_check,
    out_of_memory_message,
)
from training_lib.resources.plan import ModelPlan, ResourcePlan
from training_lib.runs.context import RunContext, load_run
from training_lib.runs.files import write_json
from training_lib.runs.folder import RoundFolder

log = logging.getLogger("training_lib.worker")


@dataclass(frozen=True)
class TrainingJob:
    """One model's training in one round of one run: what every step of the worker reads.

    `epochs` can grow in a collaborative round (peers' knowledge adds rows) and `run_id`
    (the model's MLflow run) is known once tracking is open: `dataclasses.replace` gives
    the job with them.
    """

    ctx: RunContext
    model: str
    round_index: int
    plan: ModelPlan
    spec: ModelSpec
    epochs: int  # the budget; early stopping (`patience`) may end training sooner
    learning_rate: float
    run_id: str = ""
    patience: int | None = None
    epochs_from: str = "the preset's epochs"

    @classmethod
    def create(cls, ctx: RunContext, model: str, round_index: int,
               plan: ModelPlan) -> "TrainingJob":
        """The job as the preset sets it: the model's spec, epoch budget, patience and
        learning rate (config/schedule.py)."""
        from training_lib.config.schedule import epoch_schedule

        s = ctx.settings
        spec = spec_for(model, s)
        schedule = epoch_schedule(s, spec)
        return cls(ctx, model, round_index, plan, spec, schedule.epochs,
                   s.for_model(model, "learning_rate"), patience=schedule.patience,
                   epochs_from=schedule.why)

    @property
    def settings(self) -> PresetModel:
        return self.ctx.settings

    @property
    def folder(self) -> RoundFolder:
        return self.ctx.round(self.model, self.round_index)

    @property
    def try_number(self) -> int:
        return self.ctx.try_number

    @property
    def collaborative(self) -> bool:
        """A round that starts from its peers' knowledge (collab/)."""
        return self.settings.enable_collaborative_training and self.round_index > 1


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("model")
    parser.add_argument("--round", dest="round_index", type=int, default=1)
    parser.add_argument("--try", dest="try_number", type=int, default=1)
    return parser.parse_args(argv)


def load_manifest(ctx: RunContext, model: str) -> list[FileRecord]:
    data = json.loads(ctx.folder.manifest(model).read_text())
    return [FileRecord.from_json(item) for item in data["files"]]


def prepare_dataset(job: TrainingJob) -> Dataset:
    from training_lib.data.labels import label_options
    from training_lib.data.loaders.registry import LoadRequest, load_dataset

    ctx = job.ctx
    req = LoadRequest(job.model, load_manifest(ctx, job.model), ctx.data_root, ctx.settings,
                      label_options(ctx.settings, job.model))
    return load_dataset(job.spec.loader, req)


def train(job: TrainingJob) -> dict[str, Any]:
    """Config -> data -> model -> resume/fit -> evaluate -> save/log -> result.json."""
    import keras

    from training_lib.pipeline.reuse import input_fingerprint
    from training_lib.resources.apply import configure_framework, distribution_scope

    s, plan, folder = job.settings, job.plan, job.folder
    fingerprint = input_fingerprint(job.ctx, job.model)  # what a later run may reuse this by
    configure_framework(plan)
    keras.utils.set_random_seed(s.seed)
    if s.deterministic and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    dataset = prepare_dataset(job)
    log.info("%s: %s", job.model, json.dumps(dataset.summary()))
    with distribution_scope(plan):
        model = build_model(job.spec, dataset, job.learning_rate)
    warm_started = warm_start(job, model)
    folder.path.mkdir(parents=True, exist_ok=True)
    folder.dataset_keys.write_text(json.dumps(dataset.keys))
    train_on, incremental = dataset, None
    if s.incremental is not None:  # fine-tune the champion on new data + replay
        from training_lib.incremental.step import prepare_finetune

        train_on, incremental = prepare_finetune(job.ctx, job.model, dataset.info.get("task")
                                                 or job.spec.task, dataset, model)
        if incremental["mode"] in NOT_TRAINED:  # too few new test rows, or no baseline
            outcome = {"model": job.model, "round": job.round_index,
                       "untrained": incremental["mode"], "incremental": incremental}
            write_json(folder.result, outcome)
            return outcome
    if job.collaborative:  # peers' knowledge (collab/)
        from training_lib.collab.consume import consume_knowledge, epochs_for

        own_rows = train_on.size("train")
        with distribution_scope(plan):
            train_on = consume_knowledge(job.ctx, job.model, job.round_index, model, train_on)
        job = replace(job, epochs=epochs_for(job.epochs, own_rows, train_on.size("train"),
                                             plan.batch_size, s.collaboration))
    job = replace(job, run_id=open_tracking(job, model))
    result, delivery = fit_with_checkpoints(job, model, train_on)
    if incremental is not None:  # own loss back, new classes' bias corrected
        from training_lib.incremental.recipe import finish_finetune

        incremental.update(finish_finetune(dataset.info.get("task") or job.spec.task, model,
                                           dataset, incremental.get("champion_classes")))
    if job.collaborative:
        from training_lib.training.optimizer_state import restore_compile

        restore_compile(model)  # the saved model carries its own loss, not the round's
    outcome = evaluate_and_save(job, model, dataset, result)
    outcome.update({"epochs": job.epochs, "epoch_budget_from": job.epochs_from,
                    "patience": job.patience, "stopped_at_epoch": result.stopped_at_epoch,
                    "stop_reason": result.stop_reason, "best_epoch": result.best_epoch,
                    "restored_best_epoch": result.restored_best,
                    "device": plan.device, "metrics_delivery": delivery,
                    "warm_started_from": warm_started, "input_fingerprint": fingerprint})
    outcome.update(reference_step(job, dataset, outcome))  # same splits, classical model
    if incremental is not None:
        from training_lib.incremental.step import judge_finetune

        outcome["incremental"] = judge_finetune(job.ctx, outcome["task"], model, dataset,
                                                incremental, metric=outcome["metric"])
        tag_verdict(job.run_id, outcome["incremental"])
    write_json(folder.result, outcome)
    return outcome


NOT_TRAINED = ("waiting", "skipped")  # incremental modes in which the worker trains nothing


def tag_verdict(run_id: str, incremental: dict[str, Any]) -> None:
    """The forgetting guard's verdict on the model's MLflow run (a "no change needed"
    candidate is registered nowhere else)."""
    from training_lib.registry import tracking

    if incremental.get("verdict"):
        tracking.set_tags(run_id, {"incremental_verdict": incremental["verdict"],
                                   "incremental_decision": incremental["reason"][:5000]})


def warm_start(job: TrainingJob, model: Any) -> str | None:
    """Round k > 1 starts from round k-1's final weights (unless it resumes a checkpoint)."""
    from training_lib.training.checkpoints import committed_steps

    if job.round_index <= 1 or committed_steps(job.folder.checkpoints):
        return None
    previous = job.ctx.round(job.model, job.round_index - 1).model_file
    if not previous.exists():
        log.warning("%s: round %d has no model from round %d; starting fresh", job.model,
                    job.round_index, job.round_index - 1)
        return None
    from training_lib.models.saving import load_model
    from training_lib.training.optimizer_state import carry_optimizer_state

    try:  # compiled, to continue its optimizer's state (moments, step count) too
        old = load_model(previous)
    except Exception as e:  # noqa: BLE001 - e.g. a custom loss that cannot be rebuilt
        log.warning("%s: loading %s without its optimizer state: %s", job.model, previous, e)
        old = load_model(previous, compile=False)
    model.set_weights(old.get_weights())
    carried = carry_optimizer_state(getattr(old, "optimizer", None), model)
    log.info("%s: round %d starts from %s (optimizer state %s)", job.model, job.round_index,
             previous, "carried" if carried else "fresh")
    return str(previous)


def open_tracking(job: TrainingJob, model: Any) -> str:
    """The model's MLflow run (a child of the DAG run's), its tags and, on the first try,
    the dataset and the params."""
    from training_lib.registry import tracking

    ctx = job.ctx
    run_id = tracking.child_run_id(
        ctx.run_dir, job.folder.label, experiment=ctx.dag_id,
        run_name=job.model + (f"-round{job.round_index}" if ctx.settings.rounds > 1 else ""),
        tags={**ctx.tags(), "model": job.model, "round": str(job.round_index)})
    tracking.set_tags(run_id, {"try_number": str(ctx.try_number), "host": settings.host_name(),
                               "device": job.plan.device})
    if ctx.try_number == 1:
        scan = ctx.read_json(ctx.folder.scan, {}) or {}
        if scan.get("fingerprint"):
            tracking.log_dataset(run_id, ctx.data_root, scan["fingerprint"], scan.get("files", 0))
        tracking.log_params(run_id, {"config": ctx.preset.resolved(), "plan": job.plan.__dict__,
                                     "model": {"epochs": job.epochs,
                                               "learning_rate": job.learning_rate,
                                               "batch_size": job.plan.batch_size,
                                               "parameters": model.count_params()}})
    return run_id


def checkpoint_store(job: TrainingJob) -> Any:
    """The round's checkpoint folder, mirrored to object storage when one is configured (a
    retry on a worker without the run folder's disk pulls the mirror first)."""
    from training_lib.training.checkpoints import CheckpointStore
    from training_lib.training.mirror import CheckpointMirror

    c, directory = job.settings.checkpoint, job.folder.checkpoints
    mirror = CheckpointMirror.for_folder(directory, settings.runs_dir())
    if mirror is not None:
        mirror.pull(directory)
    return CheckpointStore(directory, keep_last=c.keep_last, keep_best=c.keep_best,
                           monitor=c.monitor, mode=c.monitor_mode, mirror=mirror)


def fit_with_checkpoints(job: TrainingJob, model: Any,
                         dataset: Dataset) -> tuple[Any, dict[str, Any]]:
    """Resume or start the fit with checkpoints, metrics (JSONL, MLflow, log), heartbeat and
    monitoring; returns the fit result and how the MLflow metrics were delivered."""
    from training_lib.monitoring.session import start_monitoring
    from training_lib.registry import tracking
    from training_lib.registry.metric_sink import MlflowMetricSink
    from training_lib.training import faults
    from training_lib.training.engine import FitPlan, ResumableFit
    from training_lib.training.sinks import Heartbeat, JsonlSink, ProgressPrinter

    s, folder, try_number = job.settings, job.folder, job.try_number
    fit_plan = FitPlan(epochs=job.epochs, batch_size=job.plan.batch_size, seed=s.seed,
                       every_steps=s.checkpoint_interval,
                       every_seconds=s.checkpoint.every_seconds,
                       at_epoch_end=s.checkpoint.at_epoch_end, patience=job.patience,
                       monitor=s.checkpoint.monitor, mode=s.checkpoint.monitor_mode)
    total = fit_plan.steps_per_epoch(dataset.size("train")) * job.epochs
    store = checkpoint_store(job)
    latest = store.steps()
    injected = faults.from_environment(latest[0] if latest else 0, try_number)
    jsonl = JsonlSink(folder.metrics, try_number, model=job.model, round=job.round_index)
    mlflow_sink = MlflowMetricSink(job.run_id)
    heartbeat = Heartbeat(folder.heartbeat, total=total)

    def beat_paused(step: int, why: str) -> None:
        heartbeat.beat(step, paused=why)

    pause_when = (low_disk_check(folder.path, s.min_disk_space_gb) if s.auto_pause_on_low_disk
                  else None)
    monitoring = start_monitoring(folder, s.anomalies, try_number=try_number,
                                  gpu_indices=job.plan.gpu_indices, run_id=job.run_id)
    system = None
    try:
        fit = ResumableFit(model, dataset, fit_plan, store, config=job.ctx.preset.resolved(),
                           sinks=[jsonl, mlflow_sink,
                                  ProgressPrinter(job.model, total, job.epochs)],
                           on_step=heartbeat.beat, extra_callbacks=list(injected),
                           pause_when=pause_when, on_pause=beat_paused if pause_when else None,
                           monitors=[monitoring.monitor])
        jsonl.event("start", try_number=try_number, host=settings.host_name(),
                    device=job.plan.device, injected_faults=[cb.faults for cb in injected] or None)
        system = tracking.system_metrics_monitor(job.run_id, resume=try_number > 1)
        result = fit.run()
    finally:
        store.close()
        monitoring.close()
        if system is not None:
            system.finish()
    jsonl.event("fit_done", resumed_from_step=result.resumed_from_step, steps_run=result.steps_run,
                global_step=result.global_step, stopped_at_epoch=result.stopped_at_epoch,
                stop_reason=result.stop_reason, best_epoch=result.best_epoch)
    log.info("%s: stopped after epoch %d of %d: %s", job.model, result.stopped_at_epoch,
             job.epochs, result.stop_reason)
    jsonl.close()
    mlflow_sink.log(result.global_step, {"train_samples_per_second": result.samples_per_second,
                                         "train_seconds": result.seconds})
    return result, mlflow_sink.close()


def evaluate_and_save(job: TrainingJob, model: Any, dataset: Dataset,
                      result: Any) -> dict[str, Any]:
    from training_lib.registry import frozen_eval, tracking
    from training_lib.training.evaluation import evaluate, metric_name

    ctx, spec, folder = job.ctx, job.spec, job.folder
    task = dataset.info.get("task") or spec.task
    scores = evaluate(spec.task, model, dataset)
    metric = metric_name(spec.metric, dataset)
    frozen = frozen_eval.freeze(job.model, dataset, source=f"{ctx.dag_id}/{ctx.run_id}")
    frozen_score, frozen_note = frozen_eval.score_on_frozen(task, model, dataset, frozen)
    model.save(folder.model_file)
    folder.dataset_summary.write_text(json.dumps(dataset.summary() | {"info": dataset.info},
                                                 default=str))
    final = {f"test_{metric}": scores["metric"], f"baseline_{metric}": scores["baseline"]}
    if frozen_score is not None:
        final[f"frozen_{metric}"] = frozen_score
    tracking.log_metrics(job.run_id, final, step=result.global_step)
    model_uri = tracking.log_keras_model(job.run_id, model, _first_rows(dataset.x["test"], 4))
    return {
        "model": job.model, "round": job.round_index, "task": task, "metric": metric,
        "test_metric": scores["metric"], "baseline": scores["baseline"], "n_test": scores["n_test"],
        "frozen_metric": frozen_score, "frozen_note": frozen_note, "frozen_set": str(frozen.path),
        "sizes": {k: dataset.size(k) for k in ("train", "val", "test")},
        "classes": dataset.classes, "global_step": result.global_step,
        "steps_run": result.steps_run, "resumed_from_step": result.resumed_from_step,
        "samples_per_second": result.samples_per_second, "seconds": result.seconds,
        "history": result.history, "mlflow_run_id": job.run_id,
        "model_path": str(folder.model_file), "model_uri": model_uri,
        "parameters": model.count_params(), "host": settings.host_name(),
        "try_number": ctx.try_number, "sources": len(dataset.sources), "finished": time.time(),
    }


def _first_rows(x: Any, n: int) -> Any:
    return {k: v[:n] for k, v in x.items()} if isinstance(x, dict) else x[:n]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stdout,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx = load_run(args.run_dir.resolve(), args.try_number)
    plan = ResourcePlan.load(ctx.folder.plan).models[args.model]
    log.info("training %s round %d, try %d, pid %d, plan %s", args.model, args.round_index,
             args.try_number, os.getpid(), plan)
    try:
        outcome = train(TrainingJob.create(ctx, args.model, args.round_index, plan))
    except Exception as e:
        if is_out_of_memory(e):
            raise TrainingError(out_of_memory_message(args.model, plan, e)) from e
        raise
    if outcome.get("untrained"):
        log.info("%s: not trained: %s", args.model, outcome["incremental"]["reason"])
    else:
        log.info("%s done: test %s %.4f (baseline %.4f)", args.model, outcome["metric"],
                 outcome["test_metric"], outcome["baseline"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
