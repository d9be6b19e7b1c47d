"""Two recorded runs of one DAG for the report tests: small Keras models really trained by
the engine with the real sinks, system sampler and anomaly monitor, one of them with a
NaN injected (and rolled back). Every number the reports draw is one these runs recorded."""
from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import numpy as np
import pytest

DAG_ID = "report_test"


def _data(n: int = 1200, seed: int = 0):
    from training_lib.data.dataset import Dataset

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n + 300, 8)).astype("float32")
    y = (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype("int32")
    return Dataset("toy", {"train": x[:n], "val": x[n:n + 150], "test": x[n + 150:]},
                   {"train": y[:n], "val": y[n:n + 150], "test": y[n + 150:]})


def _model(lr: float):
    import keras

    keras.utils.set_random_seed(7)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(2)])
    model.compile(keras.optimizers.Adam(lr),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def train_recorded(ctx, name: str, lr: float, nan_at_step: int | None = None) -> dict:
    """Train one toy model into ctx's run folder the way the worker does."""
    from training_lib.config.anomalies import AnomalyConfig
    from training_lib.monitoring.session import start_monitoring
    from training_lib.training.checkpoints import CheckpointStore
    from training_lib.training.engine import FitPlan, ResumableFit
    from training_lib.training.faults import InjectFaults
    from training_lib.training.sinks import JsonlSink

    out = ctx.round(name)
    data = _data()
    model = _model(lr)
    jsonl = JsonlSink(out.metrics, 1, model=name, round=1)
    store = CheckpointStore(out.checkpoints, keep_last=3)
    injected = [InjectFaults({"nan_at_step": nan_at_step})] if nan_at_step else []
    monitoring = start_monitoring(out, AnomalyConfig(), interval=0.1)
    fit = ResumableFit(model, data, FitPlan(epochs=3, batch_size=16, seed=1, every_steps=20),
                       store, sinks=[jsonl], extra_callbacks=list(injected),
                       monitors=[monitoring.monitor])
    jsonl.event("start", try_number=1, host=socket.gethostname(), device="cpu",
                injected_faults=[f.faults for f in injected] or None)
    try:
        result = fit.run()
    finally:
        store.close()
        monitoring.close()
    jsonl.event("fit_done", resumed_from_step=result.resumed_from_step,
                steps_run=result.steps_run, global_step=result.global_step)
    jsonl.close()
    logits = model.predict(data.x["test"], verbose=0)
    accuracy = float((logits.argmax(axis=1) == data.y["test"]).mean())
    baseline = float(max(data.y["test"].mean(), 1 - data.y["test"].mean()))
    outcome = {"model": name, "round": 1, "metric": "accuracy", "test_metric": accuracy,
               "baseline": baseline, "samples_per_second": result.samples_per_second,
               "seconds": result.seconds, "global_step": result.global_step,
               "sizes": {k: data.size(k) for k in ("train", "val", "test")},
               "finished": time.time(), "weights_finite": bool(all(
                   np.isfinite(w).all() for w in model.get_weights()))}
    out.result.write_text(json.dumps(outcome))
    return outcome


def record_run(run_id: str, data_folder: Path):
    from training_lib.runs.context import start_run

    ctx = start_run(DAG_ID, run_id, "quick_start", {"data_folder": str(data_folder)})
    results = {"toy_a": train_recorded(ctx, "toy_a", 1e-2),
               "toy_b": train_recorded(ctx, "toy_b", 1e-2, nan_at_step=70)}
    ctx.write_json(ctx.folder.evaluation, {
        m: {"status": "trained", "metric": "accuracy", "test": r["test_metric"],
            "baseline": r["baseline"], "lift": r["test_metric"] - r["baseline"], "n_test": 150,
            "mlflow_run_id": ""} for m, r in results.items()})
    return ctx, results


@pytest.fixture(scope="session")
def recorded_runs(tmp_path_factory):
    """(earlier ctx, this ctx, this run's results): two runs of the DAG report_test."""
    data = tmp_path_factory.mktemp("report_data")
    first, _ = record_run("run-1", data)
    time.sleep(0.05)  # distinct start times
    second, results = record_run("run-2", data)
    return first, second, results


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium, installed with apt-get when missing (CI installs it in .ci/run);
    the test is skipped only when it cannot be installed here."""
    import os
    import shutil
    import subprocess

    names = ("chromium", "chromium-browser", "google-chrome")
    found = next((shutil.which(n) for n in names if shutil.which(n)), None)
    if found is None and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"]
        if subprocess.run(install, capture_output=True, env=env, timeout=900).returncode:
            subprocess.run(["apt-get", "update", "-q"], capture_output=True, env=env, timeout=300)
            subprocess.run(install, capture_output=True, env=env, timeout=900)
        found = shutil.which("chromium")
    if found is None:
        pytest.skip("chromium is not installed and could not be installed with apt-get")
    return found
