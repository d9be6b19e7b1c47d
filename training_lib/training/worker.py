"""Train one model of one DAG run in this process, top to bottom.

    python -m training_lib.training.worker RUN_DIR MODEL [--round K] [--try N]

The launcher sets the resource plan's environment (devices, threads) before this
process starts, so the framework initialises under it. Steps: config -> plan ->
data -> model -> resume + fit with checkpoints -> test evaluation -> save + log ->
result.json. Exit code 0 with result.json written means success.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from training_lib import settings
from training_lib.data.dataset import Dataset
from training_lib.data.records import FileRecord
from training_lib.errors import TrainingError
from training_lib.pipeline.run import RunContext, load_run
from training_lib.resources.plan import ModelPlan, ResourcePlan

log = logging.getLogger("training_lib.worker")
RESULT = "result.json"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("model")
    parser.add_argument("--round", dest="round_index", type=int, default=1)
    parser.add_argument("--try", dest="try_number", type=int, default=1)
    return parser.parse_args(argv)


def load_manifest(ctx: RunContext, model: str) -> list[FileRecord]:
    data = json.loads(ctx.manifest_path(model).read_text())
    return [FileRecord.from_json(item) for item in data["files"]]


def prepare_dataset(ctx: RunContext, model: str) -> Dataset:
    from training_lib.data.loaders import LoadRequest, load_dataset
    from training_lib.models.resolve import spec_for

    spec = spec_for(model, ctx.settings)
    overrides = ctx.settings.models.get(model)
    req = LoadRequest(model, load_manifest(ctx, model), ctx.data_root, ctx.settings,
                      {"target_column": overrides.target_column if overrides else None})
    return load_dataset(spec.loader, req)


def train(ctx: RunContext, model_name: str, round_index: int, plan: ModelPlan) -> dict[str, Any]:
    """Config -> data -> model -> resume/fit -> evaluate -> save/log -> result.json."""
    import keras

    from training_lib.models.resolve import build_model, spec_for
    from training_lib.resources.apply import configure_framework, distribution_scope

    s = ctx.settings
    epochs, lr = s.for_model(model_name, "epochs"), s.for_model(model_name, "learning_rate")
    configure_framework(plan)
    keras.utils.set_random_seed(s.seed)
    if s.deterministic and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    out = ctx.model_dir(model_name, round_index)
    spec = spec_for(model_name, s)
    dataset = prepare_dataset(ctx, model_name)
    log.info("%s: %s", model_name, json.dumps(dataset.summary()))
    with distribution_scope(plan):
        model = build_model(spec, dataset, lr)
    warm_started = warm_start(ctx, model_name, round_index, model)
    out.mkdir(parents=True, exist_ok=True)
    (out / "dataset_keys.json").write_text(json.dumps(dataset.keys))
    train_on, incremental = dataset, None
    if s.incremental is not None:  # fine-tune the champion on new data + replay
        from training_lib.incremental.step import prepare_finetune

        train_on, incremental = prepare_finetune(ctx, model_name, dataset.info.get("task")
                                                 or spec.task, dataset, model)
    if s.enable_collaborative_training and round_index > 1:  # peers' knowledge (collab/)
        from training_lib.collab.consume import consume_knowledge, epochs_for

        own_rows = train_on.size("train")
        with distribution_scope(plan):
            train_on = consume_knowledge(ctx, model_name, round_index, model, train_on)
        epochs = epochs_for(epochs, own_rows, train_on.size("train"), plan.batch_size,
                            s.collaboration)
    run_id = open_tracking(ctx, model_name, round_index, plan, model, epochs, lr)
    result, delivery = fit_with_checkpoints(ctx, model_name, round_index, plan, model, train_on,
                                            epochs, run_id)
    if s.enable_collaborative_training and round_index > 1:
        from training_lib.collab.consume import restore_compile

        restore_compile(model)  # the saved model carries its own loss, not the round's
    outcome = evaluate_and_save(ctx, model_name, round_index, spec, model, dataset, run_id, result)
    outcome.update({"epochs": epochs, "device": plan.device, "metrics_delivery": delivery,
                    "warm_started_from": warm_started})
    if incremental is not None:
        from training_lib.incremental.step import judge_finetune

        outcome["incremental"] = judge_finetune(ctx, outcome["task"], model, dataset, incremental)
    tmp = out / f".{RESULT}.tmp"
    tmp.write_text(json.dumps(outcome, indent=2, default=str))
    tmp.replace(out / RESULT)
    return outcome


def warm_start(ctx: RunContext, model_name: str, round_index: int, model: Any) -> str | None:
    """Round k > 1 starts from round k-1's final weights (unless it resumes a checkpoint)."""
    if round_index <= 1 or any((ctx.model_dir(model_name, round_index) / "checkpoints")
                               .glob("ckpt-*.json")):
        return None
    previous = ctx.model_dir(model_name, round_index - 1) / "model.keras"
    if not previous.exists():
        log.warning("%s: round %d has no model from round %d; starting fresh", model_name,
                    round_index, round_index - 1)
        return None
    import keras

    import training_lib.models.blocks  # noqa: F401  (registers custom layers for loading)

    from training_lib.training.optimizer_state import carry_optimizer_state

    try:  # compiled, to continue its optimizer's state (moments, step count) too
        old = keras.saving.load_model(previous)
    except Exception as e:  # noqa: BLE001 - e.g. a custom loss that cannot be rebuilt
        log.warning("%s: loading %s without its optimizer state: %s", model_name, previous, e)
        old = keras.saving.load_model(previous, compile=False)
    model.set_weights(old.get_weights())
    carried = carry_optimizer_state(getattr(old, "optimizer", None), model)
    log.info("%s: round %d starts from %s (optimizer state %s)", model_name, round_index,
             previous, "carried" if carried else "fresh")
    return str(previous)


def open_tracking(ctx: RunContext, model_name: str, round_index: int, plan: ModelPlan,
                  model: Any, epochs: int, lr: float) -> str:
    from training_lib.registry import tracking

    run_id = tracking.child_run_id(
        ctx.run_dir, f"{model_name}/round_{round_index}", experiment=ctx.dag_id,
        run_name=model_name + (f"-round{round_index}" if ctx.settings.rounds > 1 else ""),
        tags={**ctx.tags(), "model": model_name, "round": str(round_index)})
    tracking.set_tags(run_id, {"try_number": str(ctx.try_number), "host": settings.host_name(),
                               "device": plan.device})
    if ctx.try_number == 1:
        scan = ctx.read_json("scan.json", {}) or {}
        if scan.get("fingerprint"):
            tracking.log_dataset(run_id, ctx.data_root, scan["fingerprint"], scan.get("files", 0))
        tracking.log_params(run_id, {"config": ctx.preset.resolved(), "plan": plan.__dict__,
                                     "model": {"epochs": epochs, "learning_rate": lr,
                                               "batch_size": plan.batch_size,
                                               "parameters": model.count_params()}})
    return run_id


def fit_with_checkpoints(ctx: RunContext, model_name: str, round_index: int, plan: ModelPlan,
                         model: Any, dataset: Dataset, epochs: int,
                         run_id: str) -> tuple[Any, dict[str, Any]]:
    from training_lib.monitoring.session import start_monitoring
    from training_lib.registry import tracking
    from training_lib.registry.metric_sink import MlflowMetricSink
    from training_lib.training import faults
    from training_lib.training.checkpoints import CheckpointStore
    from training_lib.training.engine import FitPlan, ResumableFit
    from training_lib.training.mirror import CheckpointMirror
    from training_lib.training.sinks import Heartbeat, JsonlSink, ProgressPrinter

    s = ctx.settings
    out = ctx.model_dir(model_name, round_index)
    jsonl = JsonlSink(out / "metrics.jsonl", ctx.try_number, model=model_name, round=round_index)
    mlflow_sink = MlflowMetricSink(run_id)
    mirror = CheckpointMirror.for_folder(out / "checkpoints", settings.runs_dir())
    if mirror is not None:  # a retry on a worker without the run folder's disk
        mirror.pull(out / "checkpoints")
    store = CheckpointStore(out / "checkpoints", keep_last=s.checkpoint.keep_last,
                            keep_best=s.checkpoint.keep_best, monitor=s.checkpoint.monitor,
                            mode="max" if "acc" in s.checkpoint.monitor else "min",
                            mirror=mirror)
    fit_plan = FitPlan(epochs=epochs, batch_size=plan.batch_size, seed=s.seed,
                       every_steps=s.checkpoint.every_steps or s.checkpoint_interval,
                       every_seconds=s.checkpoint.every_seconds,
                       at_epoch_end=s.checkpoint.at_epoch_end)
    latest = store.steps()
    injected = faults.from_environment(latest[0] if latest else 0, ctx.try_number)
    fit = ResumableFit(model, dataset, fit_plan, store, config=ctx.preset.resolved(),
                       sinks=[jsonl, mlflow_sink], extra_callbacks=list(injected))
    total = fit.steps_per_epoch * epochs
    heartbeat = Heartbeat(out / "heartbeat.json", total=total)
    fit.on_step = heartbeat.beat
    if s.auto_pause_on_low_disk:
        fit.pause_when = low_disk_check(out, s.min_disk_space_gb)
        fit.on_pause = lambda step, why: heartbeat.beat(step, paused=why)
    fit.sinks.append(ProgressPrinter(model_name, total, epochs))
    monitoring = start_monitoring(out, s.anomalies, fit, model=model_name, round_index=round_index,
                                  try_number=ctx.try_number, gpu_indices=plan.gpu_indices,
                                  run_id=run_id)
    jsonl.event("start", try_number=ctx.try_number, host=settings.host_name(), device=plan.device,
                injected_faults=[cb.faults for cb in injected] or None)
    system = tracking.system_metrics_monitor(run_id, resume=ctx.try_number > 1)
    try:
        result = fit.run()
    finally:
        store.close()
        monitoring.close()
        if system is not None:
            system.finish()
    jsonl.event("fit_done", resumed_from_step=result.resumed_from_step, steps_run=result.steps_run,
                global_step=result.global_step)
    jsonl.close()
    mlflow_sink.log(result.global_step, {"train_samples_per_second": result.samples_per_second,
                                         "train_seconds": result.seconds})
    return result, mlflow_sink.close()


def evaluate_and_save(ctx: RunContext, model_name: str, round_index: int, spec: Any, model: Any,
                      dataset: Dataset, run_id: str, result: Any) -> dict[str, Any]:
    from training_lib.registry import frozen_eval, tracking
    from training_lib.training.evaluation import evaluate, metric_name

    out = ctx.model_dir(model_name, round_index)
    task = dataset.info.get("task") or spec.task
    scores = evaluate(spec.task, model, dataset)
    metric = metric_name(spec.metric, dataset)
    frozen = frozen_eval.freeze(model_name, dataset, source=f"{ctx.dag_id}/{ctx.run_id}")
    frozen_score, frozen_note = frozen_eval.score_on_frozen(task, model, dataset, frozen)
    model_path = out / "model.keras"
    model.save(model_path)
    (out / "dataset.json").write_text(json.dumps(dataset.summary() | {"info": dataset.info},
                                                 default=str))
    final = {f"test_{metric}": scores["metric"], f"baseline_{metric}": scores["baseline"]}
    if frozen_score is not None:
        final[f"frozen_{metric}"] = frozen_score
    tracking.log_metrics(run_id, final, step=result.global_step)
    model_uri = tracking.log_keras_model(run_id, model, _first_rows(dataset.x["test"], 4))
    return {
        "model": model_name, "round": round_index, "task": task, "metric": metric,
        "test_metric": scores["metric"], "baseline": scores["baseline"], "n_test": scores["n_test"],
        "frozen_metric": frozen_score, "frozen_note": frozen_note, "frozen_set": str(frozen.path),
        "sizes": {k: dataset.size(k) for k in ("train", "val", "test")},
        "classes": dataset.classes, "global_step": result.global_step,
        "steps_run": result.steps_run, "resumed_from_step": result.resumed_from_step,
        "samples_per_second": result.samples_per_second, "seconds": result.seconds,
        "history": result.history, "mlflow_run_id": run_id, "model_path": str(model_path),
        "model_uri": model_uri, "parameters": model.count_params(),
        "host": settings.host_name(), "try_number": ctx.try_number,
        "sources": len(dataset.sources), "finished": time.time(),
    }


def low_disk_check(path: Path, min_gb: float) -> Any:
    """A pause condition: free disk at the checkpoint folder under `min_gb`."""
    import psutil

    def check() -> str | None:
        free = psutil.disk_usage(str(path)).free / 1e9
        return (f"{free:.2f} GB free at {path}, under min_disk_space_gb {min_gb}"
                if free < min_gb else None)

    return check


OOM_MARKERS = ("RESOURCE_EXHAUSTED", "ResourceExhaustedError", "out of memory", "OOM when allocating",
               "Cannot allocate memory", "CUDA_ERROR_OUT_OF_MEMORY")


def is_out_of_memory(error: BaseException) -> bool:
    return isinstance(error, MemoryError) or any(m in f"{type(error).__name__}: {error}"
                                                 for m in OOM_MARKERS)


def out_of_memory_message(model: str, plan: ModelPlan, error: BaseException) -> str:
    cap = (f"GPU memory cap {plan.gpu_memory_mb} MB" if plan.gpu_memory_mb
           else f"planned host memory {plan.memory_mb} MB")
    first = str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__
    return (f"{model}: out of memory under its resource plan (device {plan.device}, {cap}, "
            f"batch size {plan.batch_size}, {plan.cpu_threads} threads"
            + (f"; {plan.note}" if plan.note else "") + f"): {first}. Lower the model's "
            "batch_size (models.<name>.batch_size in the preset) or give it a device with more "
            "memory; the plan is in the run folder's plan.json")


def _first_rows(x: Any, n: int) -> Any:
    return {k: v[:n] for k, v in x.items()} if isinstance(x, dict) else x[:n]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stdout,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx = load_run(args.run_dir.resolve(), args.try_number)
    plan = ResourcePlan.load(ctx.run_dir / "plan.json").models[args.model]
    log.info("training %s round %d, try %d, pid %d, plan %s", args.model, args.round_index,
             args.try_number, os.getpid(), plan)
    try:
        outcome = train(ctx, args.model, args.round_index, plan)
    except Exception as e:
        if is_out_of_memory(e):
            raise TrainingError(out_of_memory_message(args.model, plan, e)) from e
        raise
    log.info("%s done: test %s %.4f (baseline %.4f)", args.model, outcome["metric"],
             outcome["test_metric"], outcome["baseline"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
