"""math_model: exact match on held-out problems vs the number of training records.

    python bench/math_learning_curve.py [--sizes 1000,3000,10000] [--threads N]
        [--max-minutes M]

Per size: that many records from the demo generator (`training_lib.demo.records.
arithmetic`: a+b, a-b with operands 0-99, a*b with operands 0-12, (a+b)*k), written
as JSONL, scanned, routed and loaded by the arithmetic loader as the worker does
(deterministic train/val/test split by record; a problem in test is never in train),
then trained by the engine (epoch budget, early stopping on val_loss, best epoch
restored) with a wall-clock cap per size. Ends with one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import model_family_vs_reference as family  # noqa: E402  (sets up paths and the temp var dir)


class TimeCap:
    """A Keras callback that stops the fit after `seconds` (checked at epoch ends)."""

    def __new__(cls, seconds: float):  # built lazily so keras loads after the thread setup
        import keras

        class _Cap(keras.callbacks.Callback):
            def __init__(self) -> None:
                super().__init__()
                self.deadline = time.monotonic() + seconds

            def on_epoch_end(self, epoch, logs=None):
                if time.monotonic() > self.deadline:
                    self.model.stop_training = True
        return _Cap()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,3000,10000")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-minutes", type=float, default=6.0)
    parser.add_argument("--lr", type=float, default=3e-3)
    args = parser.parse_args(argv)
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras

    from training_lib.config.model_specs import MODELS
    from training_lib.demo.records import arithmetic, write_jsonl
    from training_lib.models.resolve import build_model
    from training_lib.training.checkpoints import CheckpointStore
    from training_lib.training.engine import FitPlan, ResumableFit
    from training_lib.training.evaluation import evaluate

    spec = MODELS["math_model"]
    points = []
    for size in (int(s) for s in args.sizes.split(",")):
        root = Path(tempfile.mkdtemp(prefix=f"math-{size}-"))  # outside the var dir a scan refuses
        write_jsonl(root / "math" / "arithmetic.jsonl", arithmetic(size, random.Random(size)))
        dataset = family.load(root, ["math_model"])["math_model"]
        keras.utils.set_random_seed(family.SEED)
        model = build_model(spec, dataset, args.lr)
        plan = FitPlan(epochs=spec.max_epochs, batch_size=64, seed=family.SEED,
                       patience=spec.patience, log_every_steps=100_000)
        store = CheckpointStore(family.TMP / f"ckpt-math-{size}", keep_last=1, asynchronous=False)
        start = time.perf_counter()
        cap = TimeCap(args.max_minutes * 60)
        result = ResumableFit(model, dataset, plan, store, extra_callbacks=[cap]).run()
        if result.stop_reason == "stopped by a monitor":  # the only other stopper here
            result.stop_reason = f"time cap ({args.max_minutes:g} min)"
        store.close()
        scores = evaluate(spec.task, model, dataset)
        point = {"records": size, "train/val/test": f"{dataset.size('train')}/"
                 f"{dataset.size('val')}/{dataset.size('test')}",
                 "exact_match": round(scores["metric"], 4), "baseline": round(scores["baseline"], 4),
                 "stopped_at_epoch": result.stopped_at_epoch, "best_epoch": result.best_epoch,
                 "stop_reason": result.stop_reason, "seconds": round(time.perf_counter() - start)}
        points.append(point)
        print(json.dumps(point), flush=True)
    print("\n| records | train/val/test | exact match | epochs (best) | seconds | stop |")
    print("|---:|---:|---:|---:|---:|---|")
    for p in points:
        print(f"| {p['records']} | {p['train/val/test']} | {p['exact_match']:.3f} | "
              f"{p['stopped_at_epoch']} ({p['best_epoch']}) | {p['seconds']} | {p['stop_reason']} |")
    reached = [p["records"] for p in points if p["exact_match"] >= 0.9]
    print(json.dumps({"bench": "math_learning_curve", "points": points,
                      "records_for_0.9": min(reached) if reached else None,
                      "backend": os.environ["KERAS_BACKEND"], "threads": args.threads}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
