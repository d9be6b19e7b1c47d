"""K small models trained concurrently on one GPU by the allocation plan, against the same
models one after another (run on an NVIDIA GPU under KERAS_BACKEND=jax).

Model: a 2-conv CNN on 32x32x3 inputs, batch 128 (the anchor's), on scikit-learn's
digits upscaled to 32x32x3. Each model is its own process. Modes:
- bare: one process per model, no caps (XLA_PYTHON_CLIENT_PREALLOCATE=false only);
- plan: the environment our allocator gives each model (training_lib.resources:
  memory cap as XLA_PYTHON_CLIENT_MEM_FRACTION, CUDA MPS when models share the GPU);
one after another = K x the time of one model alone; to stay conservative the
baseline is the fastest K=1 rate measured in this run, whatever its mode.
Every process warms up (compilation), waits at a barrier, then trains for the same
wall-clock window; samples/s are counted inside that window. FLOP/s per model are
the CNN's analytic training FLOPs (3x forward) x its samples/s, against the bf16 peak.
Anchor (bare Keras 3 on JAX, H100): 71k samples/s alone; K=2 1.75x, K=4 3.18x,
K=8 3.56x aggregate (another GPU and day: for reference only). Goals for `plan`: >= 3x at
K=4, and at K=8 (and K=16) more than this run's `bare` at the same K, on the same GPU.

    python bench/gpu_pack.py [--ks 1,2,4,8,16] [--modes bare,plan] [--seconds 12] [--bf16]
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
BATCH = 128
PEAK_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0}  # dense bf16, SXM datasheet


def build_cnn(keras):
    inputs = keras.Input((32, 32, 3), dtype="uint8")
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(32, 3, activation="relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(64, 3, activation="relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(10)(x)
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.Adam(1e-3),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def train_flops_per_sample(model) -> float:
    """2 x MACs of convolutions and dense layers, x3 for forward + backward."""
    macs = 0
    for layer in model.layers:
        name = type(layer).__name__
        if name == "Conv2D":
            _, h, w, c_out = layer.output.shape
            kh, kw = layer.kernel_size
            macs += h * w * c_out * kh * kw * layer.input.shape[-1]
        elif name == "Dense":
            macs += layer.input.shape[-1] * layer.units
    return 3 * 2 * macs


def digits(n: int):
    import numpy as np
    from sklearn.datasets import load_digits

    d = load_digits()
    img = (d.images / 16 * 255).astype("uint8")
    img = np.kron(img, np.ones((4, 4), dtype="uint8"))[:, :32, :32]  # 8x8 -> 32x32
    x = np.repeat(img[..., None], 3, axis=-1)
    reps = -(-n // len(x))
    return np.tile(x, (reps, 1, 1, 1))[:n], np.tile(d.target, reps)[:n].astype("int32")


def worker(args: argparse.Namespace) -> None:
    import keras
    import numpy as np

    if args.bf16:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    keras.utils.set_random_seed(args.seed)
    x, y = digits(BATCH * 200)
    model = build_cnn(keras)
    model.fit(x[:BATCH * 20], y[:BATCH * 20], batch_size=BATCH, epochs=2, verbose=0)  # compile
    Path(args.ready).touch()
    while not Path(args.go).exists():
        time.sleep(0.01)

    class Window(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.start = time.perf_counter()
            self.steps = 0

        def on_train_batch_end(self, batch, logs=None):
            self.steps += 1
            if time.perf_counter() - self.start >= args.seconds:
                self.model.stop_training = True

    window = Window()
    model.fit(x, y, batch_size=BATCH, epochs=10_000, verbose=0, callbacks=[window], shuffle=False)
    seconds = time.perf_counter() - window.start
    Path(args.out).write_text(json.dumps({
        "samples_per_s": window.steps * BATCH / seconds, "steps": window.steps,
        "seconds": seconds, "flops_per_sample": train_flops_per_sample(model),
        "loss_finite": bool(np.isfinite(model.evaluate(x[:1024], y[:1024], verbose=0)))}))


def plan_environments(k: int) -> list[dict[str, str]]:
    """Our allocator's plan for K small models on this machine's GPU 0."""
    from training_lib.resources import mps
    from training_lib.resources.apply import environment_for, mps_pipe_dir
    from training_lib.resources.plan import ModelNeed, plan_resources
    from training_lib.resources.probe import probe_machine

    probe = probe_machine()
    gpu = probe.gpus[0]
    needs = [ModelNeed(f"cnn{i}", 256, BATCH) for i in range(k)]
    plan = plan_resources(probe, needs, gpu_packing=max(k, 1))
    envs = []
    for need in needs:
        entry = plan.models[need.model]
        if entry.mps:
            mps.ensure_daemon(mps_pipe_dir(entry), "0")
        env = environment_for(entry, gpu.memory_total_mb)
        env.pop("OMP_NUM_THREADS", None)  # CPU threads: the GPU host has plenty
        envs.append(env)
    return envs


def run_group(mode: str, k: int, seconds: float, bf16: bool, tmp: Path) -> list[dict]:
    if mode == "bare":
        envs = [{"XLA_PYTHON_CLIENT_PREALLOCATE": "false"} for _ in range(k)]
    else:
        envs = plan_environments(k)
    go = tmp / f"go-{mode}-{k}"
    procs, outs, readies = [], [], []
    for i, extra in enumerate(envs):
        ready, out = tmp / f"ready-{mode}-{k}-{i}", tmp / f"out-{mode}-{k}-{i}.json"
        cmd = [sys.executable, __file__, "--worker", "--ready", str(ready), "--go", str(go),
               "--out", str(out), "--seconds", str(seconds), "--seed", str(i)]
        if bf16:
            cmd.append("--bf16")
        env = {**os.environ, "KERAS_BACKEND": "jax", "CUDA_VISIBLE_DEVICES": "0", **extra}
        procs.append(subprocess.Popen(cmd, env=env))
        outs.append(out)
        readies.append(ready)
    deadline = time.time() + 300
    while not all(r.exists() for r in readies):
        if time.time() > deadline or any(p.poll() not in (None, 0) for p in procs):
            for p in procs:
                p.kill()
            raise SystemExit(f"{mode} K={k}: workers failed to start")
        time.sleep(0.1)
    go.touch()
    for p in procs:
        p.wait(timeout=seconds + 300)
    return [json.loads(o.read_text()) for o in outs]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--ready"), parser.add_argument("--go"), parser.add_argument("--out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--ks", default="1,2,4,8,16")
    parser.add_argument("--modes", default="bare,plan")
    parser.add_argument("--bf16", action="store_true")
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    from training_lib.resources import mps
    from training_lib.resources.probe import probe_machine

    probe = probe_machine()
    if not probe.gpus:
        raise SystemExit(f"no GPU: {probe.nvml_error}")
    name = probe.gpus[0].name
    peak = next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), 989.0) * 1e12
    print(f"GPU: {name}, {probe.gpus[0].memory_total_mb} MiB; MPS available: {probe.mps}; "
          f"bf16 policy: {args.bf16}", flush=True)
    ks = sorted({1, *(int(k) for k in args.ks.split(","))})  # K=1 is the baseline
    results: dict[str, dict[int, list[dict]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for mode in args.modes.split(","):
                for k in ks:
                    results.setdefault(mode, {})[k] = run_group(mode, k, args.seconds, args.bf16,
                                                                Path(tmp))
                    rates = [r["samples_per_s"] for r in results[mode][k]]
                    print(f"{mode:5} K={k}: aggregate {sum(rates):,.0f} samples/s "
                          f"(per model {min(rates):,.0f}-{max(rates):,.0f})", flush=True)
        finally:
            from training_lib.resources.apply import mps_pipe_dir
            from training_lib.resources.plan import ModelPlan

            mps.stop_daemon(mps_pipe_dir(ModelPlan("x", "gpu:0", (0,), None, 1, 1, 0, "", False,
                                                   False)))
    print(f"\n{'mode':5} {'K':>2} {'aggregate/s':>12} {'vs one after another':>21} "
          f"{'per-model TFLOP/s':>18} {'% of bf16 peak':>15}")
    headline = {}
    alone = max(sum(r["samples_per_s"] for r in by_k[1]) for by_k in results.values() if 1 in by_k)
    headline["alone_samples_per_s"] = round(alone)
    for mode, by_k in results.items():
        for k, rows in by_k.items():
            agg = sum(r["samples_per_s"] for r in rows)
            tflops = [r["samples_per_s"] * r["flops_per_sample"] / 1e12 for r in rows]
            ratio = agg / alone
            headline[f"{mode}_k{k}"] = round(ratio, 2)
            print(f"{mode:5} {k:>2} {agg:>12,.0f} {ratio:>20.2f}x {sum(tflops) / k:>18.3f} "
                  f"{100 * sum(tflops) / k * 1e12 / peak:>14.3f}%")
    def beats_bare(k: int) -> bool | None:  # None: not both measured in this run
        plan, bare = headline.get(f"plan_k{k}"), headline.get(f"bare_k{k}")
        return None if plan is None or bare is None else plan > bare

    print(json.dumps({"bench": "gpu_pack", "gpu": name, "bf16": args.bf16, **headline,
                      "goal_k4_3x": headline.get("plan_k4", 0) >= 3.0,
                      "goal_k8_beats_bare_k8": beats_bare(8),
                      "k16_beats_bare_k16": beats_bare(16),
                      "anchor_k8_h100": 3.56}))


if __name__ == "__main__":
    main()
