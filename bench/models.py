"""Every catalog model against its trivial baseline on the demo data (the README table).

    python bench/models.py [--data DIR] [--models a,b] [--threads N]

Steps: demo data (generated into a temp folder unless --data is given) -> scan into a
temporary catalog -> route with the `comprehensive_training` preset's settings -> per
model: its loader -> its builder -> plain `model.fit` for the schedule below (no
engine, checkpoints or MLflow: this measures the models, not the platform) -> the
task's held-out test metric and trivial baseline from `training/evaluation.py`.

Prints one row per model (metric, test score, baseline, the classical reference of
`training/references/` on the same split, the gap to it, split sizes, training and
reference seconds) and ends with one JSON line {"bench": "models", ...}. The reference
runs on one BLAS/OpenMP thread, as in the worker; scikit-learn's import (once per worker
process) is timed apart, as "sklearn_import_s". A model whose data is missing is
listed with the reason instead of a score. Goal: every model beats its baseline by a
clear margin: a lift of at least 0.1 (accuracy, exact match, R^2), or of half of what
the baseline left to gain where that is less (a majority class of 89% leaves 0.11).
The "error cut" column is lift / (1 - baseline): the share of the baseline's
shortfall from a perfect score that the model removes.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
TMP = Path(tempfile.mkdtemp(prefix="bench-models-"))
os.environ["TLIB_VAR_DIR"] = str(TMP)  # caches and stores of this bench only

PRESET = "comprehensive_training"
SEED = 1234
MIN_LIFT = 0.1
# (epochs, batch size, learning rate) per model: small fixed budgets that fit the whole
# bench in minutes on 2 CPU cores. The preset's per-model overrides win (math_model's).
SCHEDULES: dict[str, tuple[int, int, float]] = {
    "vision_service": (8, 32, 1e-3), "audio_service": (20, 32, 1e-3),
    "causal_reasoning_engine": (25, 32, 1e-3), "multimodal_service": (40, 32, 1e-3),
    "math_model": (60, 64, 3e-3), "logic_model": (12, 32, 1e-3),
    "environment_simulator": (40, 32, 1e-3), "adaptive_learning_controller": (40, 32, 1e-3),
    "alpha_deep_model": (60, 32, 1e-3), "code_model": (30, 32, 1e-3),
    "data_analysis_model": (40, 32, 1e-3),
}
DEFAULT_SCHEDULE = (10, 32, 1e-3)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="a demo data folder (default: generate one)")
    parser.add_argument("--models", help="comma-separated model names (default: all)")
    parser.add_argument("--threads", type=int, default=2, help="TensorFlow intra-op threads")
    parser.add_argument("--epochs-scale", type=float, default=1.0,
                        help="multiply every model's epochs (smoke runs)")
    return parser.parse_args(argv)


def demo_folder(data: Path | None) -> tuple[Path, float]:
    if data is not None:
        return data, 0.0
    from training_lib.demo.folder import make_demo_data

    start = time.perf_counter()
    out = TMP / "demo"
    summary = make_demo_data(out)
    if summary["missing"]:
        print(f"demo data is missing parts: {summary['missing']}", flush=True)
    return out, time.perf_counter() - start


def route_models(root: Path, names: list[str]) -> tuple[Any, Any, float]:
    from training_lib.config.presets import load_preset
    from training_lib.data.catalog import Catalog
    from training_lib.data.routing import route
    from training_lib.data.scan.scanner import scan_folder
    from training_lib.config.model_specs import MODELS

    start = time.perf_counter()
    catalog = Catalog(TMP / "catalog.sqlite")
    try:
        report = scan_folder(root, catalog)
    finally:
        catalog.close()
    settings = load_preset(PRESET).settings
    routing = route(report.records, settings, MODELS, names)
    return settings, routing, time.perf_counter() - start


def bench_model(name: str, root: Path, settings: Any, routing: Any,
                schedule: tuple[int, int, float], cache: Any = None) -> dict[str, Any]:
    """Load, build, fit and evaluate one model; the row of the table."""
    import keras

    from training_lib.data.loaders.registry import LoadRequest, load_dataset
    from training_lib.errors import NoDataForModel
    from training_lib.config.model_specs import MODELS
    from training_lib.models.resolve import build_model
    from training_lib.training.evaluation import evaluate
    from training_lib.training.references.registry import run_reference

    spec = MODELS[name]
    epochs, batch_size, learning_rate = schedule
    row: dict[str, Any] = {"model": name, "task": spec.task, "metric": spec.metric}
    if name not in routing.manifests:
        return {**row, "skipped": routing.left_out.get(name, "no data routed")}
    t0 = time.perf_counter()
    overrides = settings.models.get(name)
    req = LoadRequest(name, routing.manifests[name], root, settings,
                      {"target_column": overrides.target_column if overrides else None},
                      _cache=cache)
    try:
        dataset = load_dataset(spec.loader, req)
    except NoDataForModel as e:
        return {**row, "skipped": str(e)}
    t1 = time.perf_counter()
    keras.utils.set_random_seed(SEED)
    model = build_model(spec, dataset, learning_rate)
    model.fit(dataset.x["train"], dataset.y["train"], batch_size=batch_size, epochs=epochs,
              shuffle=True, verbose=0)
    t2 = time.perf_counter()
    reference = run_reference(spec.loader, dataset, spec.task, threads=1)  # as the worker
    scores = evaluate(spec.task, model, dataset)
    metric, baseline = scores["metric"], scores["baseline"]
    task = dataset.info.get("task", spec.task)
    if task != spec.task:  # a table whose target column made it a regression
        row["metric"] = {"regression": "r2", "classification": "accuracy"}.get(task, task)
    out = {**row, "task": task, "test": round(metric, 4),
           "baseline": round(baseline, 4), "lift": round(metric - baseline, 4),
           # share of the baseline's shortfall from a perfect score the model removes
           "error_cut": round((metric - baseline) / (1 - baseline), 3) if baseline < 1 else None,
           "train": dataset.size("train"), "val": dataset.size("val"),
           "n_test": dataset.size("test"), "epochs": epochs, "batch_size": batch_size,
           "learning_rate": learning_rate, "parameters": int(model.count_params()),
           "load_s": round(t1 - t0, 1), "fit_s": round(t2 - t1, 1)}
    if reference is not None:
        out.update({"reference": round(reference["metric"], 4),
                    "reference_model": reference["model"],
                    "gap": round(metric - reference["metric"], 4),
                    "reference_s": round(reference["seconds"], 2),
                    "reference_share": round(reference["seconds"] / max(t2 - t1, 1e-9), 3)})
    if name == "multimodal_service":
        out["test_with_only"] = single_modality_scores(model, dataset)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def single_modality_scores(model: Any, dataset: Any) -> dict[str, float]:
    """Test accuracy of the fusion model when only one modality is present."""
    import numpy as np

    x, y = dataset.x["test"], np.asarray(dataset.y["test"])
    scores = {}
    for i, name in enumerate(dataset.info["modalities"]):
        only = np.zeros_like(x["present"])
        only[:, i] = x["present"][:, i]
        masked = {k: (v if k in (name, "present") else np.zeros_like(v)) for k, v in x.items()}
        masked["present"] = only
        keep = only[:, i] > 0
        predicted = np.asarray(model.predict(masked, verbose=0)).argmax(-1)
        scores[name] = round(float(np.mean(predicted[keep] == y[keep])), 4) if keep.any() else None
    return scores


def schedule_of(name: str, settings: Any) -> tuple[int, int, float]:
    epochs, batch_size, lr = SCHEDULES.get(name, DEFAULT_SCHEDULE)
    override = settings.models.get(name)
    if override is not None:
        epochs = override.epochs or epochs
        batch_size = override.batch_size or batch_size
        lr = override.learning_rate or lr
    return epochs, batch_size, lr


def print_table(rows: list[dict[str, Any]]) -> None:
    """The README table (Markdown)."""
    print("| model | task | metric | test | baseline | lift | error cut | reference | gap "
          "| train/test | epochs | train s | reference s |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        if "skipped" in r:
            print(f"| {r['model']} | {r['task']} | {r['metric']} | skipped: {r['skipped']} "
                  "| | | | | | | | | |")
            continue
        cut = f"{r['error_cut']:.2f}" if r["error_cut"] is not None else "-"
        ref = (f"{r['reference']:.3f} | {r['gap']:+.3f}" if "reference" in r else "- | -")
        print(f"| {r['model']} | {r['task']} | {r['metric']} | {r['test']:.3f} | "
              f"{r['baseline']:.3f} | {r['lift']:+.3f} | {cut} | {ref} | "
              f"{r['train']}/{r['n_test']} | {r['epochs']} | {r['fit_s']:.1f} | "
              f"{r.get('reference_s', 0.0):.2f} |")


def clear_win(row: dict[str, Any]) -> bool:
    """Beats the baseline clearly: lifts the metric by MIN_LIFT, or by half of what the
    baseline left to gain where that is smaller (a majority class of 89% leaves 0.11)."""
    return row["lift"] >= min(MIN_LIFT, (1 - row["baseline"]) / 2)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if os.environ["KERAS_BACKEND"] == "tensorflow":  # model code itself is backend-neutral
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    from training_lib.config.model_specs import MODELS

    names = args.models.split(",") if args.models else list(MODELS)
    started = time.perf_counter()
    root, demo_s = demo_folder(args.data)
    settings, routing, scan_s = route_models(root, names)
    print(f"data {root}: demo {demo_s:.1f} s, scan + route {scan_s:.1f} s", flush=True)
    t0 = time.perf_counter()
    # scikit-learn's import, once per worker process: timed apart from every reference
    import sklearn.ensemble  # noqa: F401
    import sklearn.feature_extraction.text  # noqa: F401
    import sklearn.linear_model  # noqa: F401

    sklearn_s = time.perf_counter() - t0
    rows = []
    for name in names:
        epochs, batch_size, lr = schedule_of(name, settings)
        schedule = (max(1, round(epochs * args.epochs_scale)), batch_size, lr)
        row = bench_model(name, root, settings, routing, schedule)
        rows.append(row)
        print(json.dumps(row), flush=True)
    print()
    print_table(rows)
    scored = [r for r in rows if "skipped" not in r]
    result = {
        "bench": "models", "preset": PRESET, "backend": os.environ["KERAS_BACKEND"],
        "threads": args.threads, "cpu": platform.processor() or platform.machine(),
        "models": {r["model"]: {k: v for k, v in r.items() if k != "model"} for r in rows},
        "all_clear_wins": bool(scored) and len(scored) == len(rows)
        and all(clear_win(r) for r in scored),
        "not_clear": [r["model"] for r in scored if not clear_win(r)],
        "skipped": [r["model"] for r in rows if "skipped" in r],
        "min_lift": min((r["lift"] for r in scored), default=None),
        "below_reference": [r["model"] for r in scored if r.get("gap", 0) < -0.01],
        "max_reference_share": max((r.get("reference_share", 0) for r in scored), default=None),
        "sklearn_import_s": round(sklearn_s, 2),
        "demo_s": round(demo_s, 1), "scan_route_s": round(scan_s, 1),
        "total_s": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
