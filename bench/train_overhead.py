"""Engine overhead: bare `model.fit` against our ResumableFit with checkpoints, MLflow
metric logging, heartbeat and progress printing on, same model, data and threads.

Data: scikit-learn's digits upscaled to 32x32x3 (1,797 real images, repeated to 7,188).
Model: the vision_service CNN. Each side is timed over the same number of epochs, after
a warm-up (graph tracing) of its own. This VM's speed drifts by +-25% from minute to
minute, so runs are taken in adjacent pairs (order alternating) and the headline is the
median of the per-pair ratios; CPU seconds per step (process time, robust to steal)
are reported too. Goal: throughput ratio (ours / bare) >= 0.95.
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
TMP = Path(tempfile.mkdtemp(prefix="bench-overhead-"))
os.environ["TLIB_VAR_DIR"] = str(TMP)  # MLflow store of this bench only

import keras  # noqa: E402
import numpy as np  # noqa: E402

from training_lib.data.dataset import Dataset  # noqa: E402
from training_lib.models import vision  # noqa: E402
from training_lib.registry import tracking  # noqa: E402
from training_lib.registry.metric_sink import MlflowMetricSink  # noqa: E402
from training_lib.training.checkpoints import CheckpointStore  # noqa: E402
from training_lib.training.engine import FitPlan, ResumableFit  # noqa: E402
from training_lib.training.sinks import Heartbeat, JsonlSink, ProgressPrinter  # noqa: E402

EPOCHS, BATCH, ROUNDS = 2, 64, 7


def digits_dataset() -> Dataset:
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.stack([np.asarray(Image.fromarray((im / 16 * 255).astype(np.uint8)).resize((32, 32)))
                       for im in digits.images])
    x = np.repeat(np.repeat(images[..., None], 3, axis=-1), 4, axis=0)
    y = np.tile(digits.target, 4).astype("int32")
    return Dataset("bench", {"train": x, "val": x[:256]}, {"train": y, "val": y[:256]},
                   [str(i) for i in range(10)], {"image_size": 32})


def build(data: Dataset) -> keras.Model:
    keras.utils.set_random_seed(0)
    return vision.build(data, 1e-3)


def bare(data: Dataset) -> tuple[float, float]:
    model = build(data)
    model.fit(data.x["train"][:BATCH * 4], data.y["train"][:BATCH * 4], batch_size=BATCH, verbose=0)
    start, cpu = time.perf_counter(), time.process_time()
    model.fit(data.x["train"], data.y["train"], batch_size=BATCH, epochs=EPOCHS, shuffle=True,
              validation_data=(data.x["val"], data.y["val"]), verbose=0)
    return time.perf_counter() - start, time.process_time() - cpu


def ours(data: Dataset, run_id: str, index: int) -> tuple[float, float]:
    model = build(data)
    model.fit(data.x["train"][:BATCH * 4], data.y["train"][:BATCH * 4], batch_size=BATCH, verbose=0)
    out = TMP / f"ours-{index}"
    store = CheckpointStore(out / "checkpoints", keep_last=3)
    sinks = [JsonlSink(out / "metrics.jsonl"), MlflowMetricSink(run_id)]
    heartbeat = Heartbeat(out / "heartbeat.json")
    plan = FitPlan(EPOCHS, BATCH, seed=1, every_steps=50)
    progress = ProgressPrinter("bench", plan.steps_per_epoch(data.size("train")) * EPOCHS, EPOCHS,
                               stream=open(os.devnull, "w"))
    fit = ResumableFit(model, data, plan, store, config={"bench": True},
                       sinks=[*sinks, progress], on_step=heartbeat.beat)
    start, cpu = time.perf_counter(), time.process_time()
    result = fit.run()
    store.close()
    sinks[1].close()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert result.checkpoints_written > 0
    return seconds, cpu


def main() -> None:
    data = digits_dataset()
    steps = int(np.ceil(data.size("train") / BATCH)) * EPOCHS
    run_id = tracking.create_run("bench_overhead")
    bare_runs, our_runs, ratios = [], [], []
    for i in range(ROUNDS):
        if i % 2 == 0:
            b, o = bare(data), ours(data, run_id, i)
        else:
            o, b = ours(data, run_id, i), bare(data)
        bare_runs.append(b)
        our_runs.append(o)
        ratios.append(b[0] / o[0])
        print(f"pair {i + 1}: bare {steps / b[0]:.1f} steps/s, ours {steps / o[0]:.1f} steps/s, "
              f"ratio {ratios[-1]:.3f}", flush=True)
    ratio = statistics.median(ratios)
    bare_rate = steps / statistics.median(r[0] for r in bare_runs)
    our_rate = steps / statistics.median(r[0] for r in our_runs)
    cpu_ratio = statistics.median(r[1] for r in bare_runs) / statistics.median(r[1] for r in our_runs)
    logged = len(tracking.get_metric_history(run_id, "loss"))
    print(f"bare model.fit: {bare_rate:.1f} steps/s; engine with checkpoints every 50 steps, "
          f"MLflow + JSONL metrics every 10 steps, heartbeat: {our_rate:.1f} steps/s; "
          f"median pair ratio {ratio:.3f} (goal >= 0.95); CPU-time ratio {cpu_ratio:.3f}; "
          f"MLflow received {logged} loss points")
    print(json.dumps({"bench": "train_overhead", "steps": steps, "pairs": ROUNDS,
                      "bare_steps_per_s": round(bare_rate, 2), "ours_steps_per_s": round(our_rate, 2),
                      "ratio": round(ratio, 3), "cpu_time_ratio": round(cpu_ratio, 3),
                      "threads": os.cpu_count(), "goal_met": ratio >= 0.95}))


if __name__ == "__main__":
    main()
