"""One model across all GPUs of a machine (`distributed_training`), through the same code
the worker runs: probe -> plan_resources -> environment_for -> configure_framework ->
distribution_scope -> vision_service builder -> ResumableFit with checkpoints.

    python bench/multi_gpu.py [--epochs 3] [--batch 256] [--repeat 24] [--size 32]

Runs on a machine with 2+ NVIDIA GPUs (KERAS_BACKEND=jax: keras.distribution.DataParallel;
tensorflow: MirroredStrategy). Data: scikit-learn's digits as 32x32 RGB, repeated
`--repeat` times for the training split (a throughput workload, not an accuracy one;
test accuracy is printed as a sanity check). Each configuration is its own process:

- one GPU: the plan without `distributed` (gpu:0);
- all GPUs: the plan with `distributed` (gpu:0,1,...), same global batch;
- all GPUs, killed: the same, stopped after 60% of the steps (an exception, as a kill
  would), then a new process resumes from the newest checkpoint and finishes.

Prints samples/s of each, the speedup, the resumed run's steps and its weights' max
difference to the uninterrupted multi-GPU run (and, for scale, the difference between two
uninterrupted runs: GPU kernels are not bitwise deterministic unless
XLA_FLAGS=--xla_gpu_deterministic_ops=true), then one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]


def dataset(repeat: int, size: int = 32):
    import numpy as np
    from sklearn.datasets import load_digits

    from training_lib.data.dataset import Dataset

    digits = load_digits()
    img = (digits.images / 16.0 * 255).astype("uint8")
    img = np.repeat(np.repeat(img, size // 8, axis=1), size // 8, axis=2)  # 8x8 -> size
    img = np.stack([img] * 3, axis=-1)
    y = digits.target.astype("int32")
    n_test = 300
    x_train = np.concatenate([img[n_test:]] * repeat)
    y_train = np.concatenate([y[n_test:]] * repeat)
    return Dataset("vision_service", {"train": x_train, "val": img[:n_test], "test": img[:n_test]},
                   {"train": y_train, "val": y[:n_test], "test": y[:n_test]},
                   classes=[str(i) for i in range(10)], info={"image_size": size})


def plan_for(distributed: bool, batch: int):
    from training_lib.resources.plan import ModelNeed, plan_resources
    from training_lib.resources.probe import probe_machine

    return plan_resources(probe_machine(), [ModelNeed("vision_service", 384, batch, 0)],
                          distributed=distributed)


def child(args: argparse.Namespace) -> None:
    """One configuration, in its own process (the plan's environment is already set)."""
    import numpy as np

    from training_lib.config.model_specs import MODELS
    from training_lib.models.resolve import build_model
    from training_lib.resources.apply import configure_framework, distribution_scope
    from training_lib.resources.plan import ResourcePlan
    from training_lib.training.checkpoints import CheckpointStore
    from training_lib.training.engine import FitPlan, ResumableFit

    plan = ResourcePlan.load(Path(args.plan)).models["vision_service"]
    configure_framework(plan)
    import keras

    data = dataset(args.repeat, args.size)
    keras.utils.set_random_seed(1)
    with distribution_scope(plan):
        model = build_model(MODELS["vision_service"], data, 1e-3)
    store = CheckpointStore(Path(args.store), keep_last=2)
    fit_plan = FitPlan(epochs=args.epochs, batch_size=plan.batch_size, seed=3, every_steps=50)
    extra = []
    if args.stop_after:
        class Stop(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.n = 0

            def on_train_batch_end(self, batch, logs=None):
                self.n += 1
                if self.n == args.stop_after:
                    raise RuntimeError("stopped like a killed worker")

        extra.append(Stop())
    started = time.perf_counter()
    try:
        result = ResumableFit(model, data, fit_plan, store, extra_callbacks=extra).run()
    except RuntimeError as e:
        store.close()
        print(json.dumps({"stopped": str(e), "checkpoints": store.steps()}), flush=True)
        return
    store.close()
    seconds = time.perf_counter() - started
    logits = np.asarray(model.predict(data.x["test"], verbose=0, batch_size=plan.batch_size))
    np.savez(args.weights, *[np.asarray(w) for w in model.get_weights()])
    print(json.dumps({
        "device": plan.device, "devices": [str(d) for d in keras.distribution.list_devices()]
        if keras.backend.backend() == "jax" else None,
        "samples_per_second": result.samples_per_second, "seconds": round(seconds, 1),
        "global_step": result.global_step, "resumed_from_step": result.resumed_from_step,
        "steps_run": result.steps_run,
        "test_accuracy": float((logits.argmax(-1) == data.y["test"]).mean())}), flush=True)


def run_child(plan, args, store: Path, weights: Path, stop_after: int = 0) -> dict:
    """Run one configuration of `plan` (a ResourcePlan) in a process under its environment."""
    from training_lib.resources.apply import environment_for

    env = {**os.environ, **environment_for(plan.models["vision_service"])}
    plan_file = plan.save(store.with_suffix(".plan.json"))
    out = subprocess.run([sys.executable, __file__, "--child", "--plan", str(plan_file),
                          "--store", str(store), "--weights", str(weights),
                          "--epochs", str(args.epochs), "--batch", str(args.batch),
                          "--repeat", str(args.repeat), "--size", str(args.size),
                          "--stop-after", str(stop_after)],
                         env=env, capture_output=True, text=True, timeout=900)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode or not lines:
        raise SystemExit(f"child failed ({out.returncode}):\n{out.stdout[-3000:]}\n"
                         f"{out.stderr[-5000:]}")
    return json.loads(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=24)
    parser.add_argument("--size", type=int, default=32, help="image side (a multiple of 8)")
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--plan", help="(child) the ResourcePlan file")
    parser.add_argument("--store")
    parser.add_argument("--weights")
    parser.add_argument("--stop-after", type=int, default=0)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    import numpy as np

    tmp = Path(tempfile.mkdtemp(prefix="bench-multi-gpu-"))
    single_plan, multi_plan = plan_for(False, args.batch), plan_for(True, args.batch)
    single, multi = single_plan.models["vision_service"], multi_plan.models["vision_service"]
    print(f"plans: one GPU {single.device} batch {single.batch_size}; distributed "
          f"{multi.device} batch {multi.batch_size} ({multi.note})", flush=True)
    if len(multi.gpu_indices) < 2:
        raise SystemExit(f"needs 2+ GPUs; the plan got {multi.device}")
    one = run_child(single_plan, args, tmp / "one", tmp / "one.npz")
    print("one GPU:", json.dumps(one), flush=True)
    many = run_child(multi_plan, args, tmp / "many", tmp / "many.npz")
    print(f"{len(multi.gpu_indices)} GPUs:", json.dumps(many), flush=True)
    stop = int(many["global_step"] * 0.6) + 7  # not on a checkpoint step
    stopped = run_child(multi_plan, args, tmp / "killed", tmp / "killed.npz", stop_after=stop)
    print("stopped:", json.dumps(stopped), flush=True)
    resumed = run_child(multi_plan, args, tmp / "killed", tmp / "killed.npz")
    print("resumed:", json.dumps(resumed), flush=True)
    run_child(multi_plan, args, tmp / "again", tmp / "again.npz")  # GPU nondeterminism

    def max_diff(x: Path, y: Path) -> float:
        a, b = np.load(x), np.load(y)
        return max(float(np.abs(a[k] - b[k]).max()) for k in a.files)

    diff, noise = max_diff(tmp / "many.npz", tmp / "killed.npz"), max_diff(tmp / "many.npz",
                                                                           tmp / "again.npz")
    speedup = many["samples_per_second"] / one["samples_per_second"]
    print(f"\n{len(multi.gpu_indices)} GPUs vs one: {speedup:.2f}x samples/s "
          f"({many['samples_per_second']:.0f} vs {one['samples_per_second']:.0f}); resumed from "
          f"step {resumed['resumed_from_step']} after a stop at step {stop}, ran "
          f"{resumed['steps_run']} more steps; max |weight difference| to the uninterrupted "
          f"run {diff:.2e} (two uninterrupted runs differ by {noise:.2e})")
    print(json.dumps({"bench": "multi_gpu", "gpus": len(multi.gpu_indices),
                      "backend": os.environ.get("KERAS_BACKEND", "tensorflow"),
                      "samples_per_second_one": one["samples_per_second"],
                      "samples_per_second_all": many["samples_per_second"],
                      "speedup": round(speedup, 3), "stopped_at": stop,
                      "resumed_from": resumed["resumed_from_step"],
                      "steps_after_resume": resumed["steps_run"],
                      "total_steps": resumed["global_step"],
                      "max_weight_diff_vs_uninterrupted": diff,
                      "max_weight_diff_two_uninterrupted": noise,
                      "test_accuracy": [one["test_accuracy"], many["test_accuracy"],
                                        resumed["test_accuracy"]]}))


if __name__ == "__main__":
    main()
