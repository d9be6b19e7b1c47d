"""The eleven built-in models training at once on one GPU, against one after another.

Two steps, because the GPU machine has no TensorFlow, no network and receives only a
64 MiB copy of the working tree:

    # here (TensorFlow allowed; ~20 s): demo data -> scan -> route -> each model's own
    # loader -> one compressed .npz of every model's train/val/test arrays and info
    python bench/family_gpu.py export --out var/family_gpu/family.npz

    # on the GPU machine (no TensorFlow imported anywhere on this side)
    KERAS_BACKEND=jax python bench/family_gpu.py run --data var/family_gpu/family.npz

The export is 8.9 MiB (all eleven datasets, no subsampling; `--max-train N` caps the
training rows). The GPU image lacks keras, optree, namex and pydantic (config/schema.py):
carry their cp312 wheels in an ignored folder (`pip download --no-deps --only-binary=:all:
--python-version 3.12 --platform manylinux_2_28_x86_64 ... -d var/family_gpu/wheels
keras==3.15.1 optree namex pydantic pydantic_core annotated-types typing-inspection
typing_extensions`, 5.5 MiB) and `pip install --no-index --no-deps --target /tmp/site` there.

`run` trains every model in its own process under the environment our resource plan
gives it (`plan_resources` -> `environment_for`: CUDA_VISIBLE_DEVICES, thread counts,
XLA_PYTHON_CLIENT_PREALLOCATE=false, XLA_PYTHON_CLIENT_MEM_FRACTION, JAX's persistent
compilation cache, and CUDA MPS when models share the GPU), with plain `model.fit` for a fixed
schedule (bench/models.py's epochs, batch size and learning rate, the preset's
overrides winning; `--epochs N` for all), then the task's test metric
(`training/evaluation.py`). Modes:

- sequential: one model at a time, each planned as if alone (the whole GPU's cap);
- packed: all models launched at once, planned together (`gpu_packing` = their count);
- packed:K: planned for a GPU pool of K slots and run at most K at a time, as Airflow's
  `tlib_gpu` pool would (K=4 is the default packing).
Diagnostics: `--env KEY=VALUE` (e.g. XLA_FLAGS), `--no-mps`, `--async-clock` (no device
sync after every step; by default the timing hook syncs, as the engine's callbacks do).

Measured per model: samples/s after the first batch (the first one compiles), test
metric in both modes, seconds from spawn to the first finished batch (imports, data,
build, compile: the launch cost), CPU busy % of its process during fit (and CPU seconds
by thread name, from /proc), the JAX
allocator's peak and limit, the GPU memory NVML sees for its pid. Sampled by the parent
(NVML, 5 Hz): GPU utilisation and memory, host CPU %. Whole-family wall time of each
mode, from the first spawn to the last exit, and their ratio (goal: packed <= 1/4 of
sequential). The last line is one JSON object {"bench": "family_gpu", ...}.

Local smoke run (CPU, TensorFlow backend):
    python bench/family_gpu.py run --data F --models logic_model,code_model --epochs 1
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]
SEED = 1234
SPLITS = ("train", "val", "test")


# --------------------------------------------------------------------------- export
def export(args: argparse.Namespace) -> None:
    """Demo data -> every model's Dataset -> one compressed .npz (arrays + JSON meta)."""
    import numpy as np

    from bench.models import TMP, route_models, schedule_of  # same routing and schedules
    from training_lib.config.model_specs import MODELS
    try:  # the loaders became a package (loaders/registry.py); older trees: loaders.py
        from training_lib.data.loaders.registry import LoadRequest, load_dataset
    except ImportError:
        from training_lib.data.loaders.registry import LoadRequest, load_dataset

    names = args.models.split(",") if args.models else list(MODELS)
    started = time.perf_counter()
    demo = args.demo
    if demo is None:
        demo = TMP.parent / f"{TMP.name}-demo"  # outside the store: a scan refuses that
        subprocess.run([sys.executable, "-m", "training_lib", "demo-data", "--out", str(demo)],
                       check=True, cwd=ROOT, env={**os.environ, "TLIB_VAR_DIR": str(TMP)},
                       stdout=subprocess.DEVNULL)
    demo_s = time.perf_counter() - started
    settings, routing, _ = route_models(demo, names)
    arrays: dict[str, Any] = {}
    meta: dict[str, Any] = {}
    for name in names:
        spec = MODELS[name]
        if name not in routing.manifests:
            raise SystemExit(f"{name}: no data routed ({routing.left_out.get(name)})")
        override = settings.models.get(name)
        req = LoadRequest(name, routing.manifests[name], demo, settings,
                          {"target_column": override.target_column if override else None})
        dataset = load_dataset(spec.loader, req)
        if args.max_train and dataset.size("train") > args.max_train:
            dataset = dataset.subset("train", np.arange(args.max_train))
        for part in ("x", "y"):
            for split in SPLITS:
                value = getattr(dataset, part)[split]
                if isinstance(value, dict):
                    for key, array in value.items():
                        arrays[f"{name}/{part}/{split}/{key}"] = np.asarray(array)
                else:
                    arrays[f"{name}/{part}/{split}"] = np.asarray(value)
        epochs, batch_size, lr = schedule_of(name, settings)
        meta[name] = {"task": spec.task, "metric": spec.metric, "classes": dataset.classes,
                      "info": dataset.info, "epochs": epochs, "batch_size": batch_size,
                      "learning_rate": lr, "sizes": {s: dataset.size(s) for s in SPLITS},
                      "footprint_mb": spec.footprint_mb}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    raw = sum(a.nbytes for a in arrays.values())
    np.savez_compressed(args.out, __meta__=np.array(json.dumps(meta, default=_jsonable)),
                        **arrays)
    size = args.out.stat().st_size
    print(f"demo data {demo} ({demo_s:.1f} s); {len(names)} models, {raw / 2**20:.1f} MiB of "
          f"arrays -> {args.out} {size / 2**20:.2f} MiB compressed "
          f"({'train capped at ' + str(args.max_train) if args.max_train else 'no subsampling'}); "
          f"tensorflow imported by the loaders: {'tensorflow' in sys.modules}")
    for name, m in meta.items():
        print(f"  {name:30} train/val/test {m['sizes']['train']}/{m['sizes']['val']}/"
              f"{m['sizes']['test']}  epochs {m['epochs']} batch {m['batch_size']}")


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy scalars and arrays in Dataset.info
        return value.tolist()
    raise TypeError(f"not JSON serialisable in Dataset.info: {type(value).__name__}")


def load_family(path: Path, name: str) -> tuple[Any, dict[str, Any]]:
    """One model's Dataset and meta from the export (numpy only: safe on the GPU side)."""
    import numpy as np

    from training_lib.data.dataset import Dataset

    with np.load(path) as npz:
        meta = json.loads(str(npz["__meta__"]))[name]
        parts: dict[str, dict[str, Any]] = {"x": {}, "y": {}}
        for key in npz.files:
            model, _, rest = key.partition("/")
            if model != name:
                continue
            part, split, *sub = rest.split("/")
            if sub:
                parts[part].setdefault(split, {})[sub[0]] = npz[key]
            else:
                parts[part][split] = npz[key]
    return Dataset(name, parts["x"], parts["y"], meta["classes"], meta["info"]), meta


# --------------------------------------------------------------------------- worker
def worker(args: argparse.Namespace) -> None:
    """One model in this process, under the plan's environment already set by the parent."""
    marks = {"spawn": args.spawned, "start": time.time()}
    from training_lib.config.model_specs import MODELS
    from training_lib.models.resolve import build_model
    from training_lib.resources.apply import configure_framework
    from training_lib.resources.plan import ResourcePlan
    from training_lib.training.evaluation import evaluate, metric_name

    plan = ResourcePlan.load(Path(args.plan)).models[args.model]
    configure_framework(plan)
    import keras

    marks["imported"] = time.time()
    dataset, meta = load_family(Path(args.data), args.model)
    marks["loaded"] = time.time()
    epochs = args.epochs or meta["epochs"]
    keras.utils.set_random_seed(SEED)
    spec = MODELS[args.model]
    model = build_model(spec, dataset, meta["learning_rate"])
    marks["built"] = time.time()

    class Clock(keras.callbacks.Callback):
        # a batch hook that is not async-safe makes Keras fetch the logs after every step
        # (a device sync), as the engine's heartbeat and monitoring callbacks do
        async_safe = args.async_clock
        first_batch = 0.0

        def on_train_batch_end(self, batch, logs=None):
            if not self.first_batch:
                self.first_batch = time.time()

    clock = Clock()
    cpu0, threads0 = os.times(), thread_cpu()
    marks["fit"] = time.time()
    model.fit(dataset.x["train"], dataset.y["train"], batch_size=plan.batch_size, epochs=epochs,
              shuffle=True, verbose=0, callbacks=[clock])
    marks["fit_end"] = time.time()
    cpu1, threads1 = os.times(), thread_cpu()
    marks["first_batch"] = clock.first_batch
    scores = evaluate(spec.task, model, dataset)
    marks["evaluated"] = time.time()
    n_train = dataset.size("train")
    after_first = n_train * epochs - min(plan.batch_size, n_train)
    steady = marks["fit_end"] - clock.first_batch
    fit_cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    out = {"model": args.model, "pid": os.getpid(), "backend": keras.backend.backend(),
           "metric": metric_name(spec.metric, dataset), "test": scores["metric"],
           "baseline": scores["baseline"], "n_test": scores["n_test"], "n_train": n_train,
           "epochs": epochs, "batch_size": plan.batch_size,
           "samples_per_s": after_first / steady if steady > 0 else None,
           "fit_cpu_pct": 100 * fit_cpu / (marks["fit_end"] - marks["fit"]),
           "marks": marks, "tensorflow_imported": "tensorflow" in sys.modules,
           "fit_threads": by_thread_name(threads0, threads1),
           "env": {k: os.environ.get(k) for k in ("CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS",
                                                  "XLA_PYTHON_CLIENT_MEM_FRACTION",
                                                  "XLA_PYTHON_CLIENT_PREALLOCATE",
                                                  "CUDA_MPS_PIPE_DIRECTORY", "XLA_FLAGS")}}
    if keras.backend.backend() == "jax":
        import jax

        device = jax.local_devices()[0]
        stats = device.memory_stats() or {}
        out.update(device=str(device), jax_peak_mb=stats.get("peak_bytes_in_use", 0) / 2**20,
                   jax_limit_mb=stats.get("bytes_limit", 0) / 2**20)
    Path(args.out).write_text(json.dumps(out, default=float))


def thread_cpu() -> dict[str, tuple[str, float]]:
    """CPU seconds (user + system) of each thread of this process: tid -> (name, seconds)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:  # the thread ended
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # fields[11:13]: utime, stime
        out[task.name] = (stat[stat.index("(") + 1:stat.rindex(")")],
                          (int(fields[11]) + int(fields[12])) / tick)
    return out


def by_thread_name(before: dict, after: dict) -> dict[str, float]:
    """CPU seconds spent between two `thread_cpu` snapshots, summed by thread name."""
    spent: dict[str, float] = {}
    for tid, (name, cpu) in after.items():
        spent[name] = spent.get(name, 0.0) + cpu - before.get(tid, (name, 0.0))[1]
    return {k: round(v, 2) for k, v in sorted(spent.items(), key=lambda kv: -kv[1]) if v > 0}


# --------------------------------------------------------------------------- sampling
class Sampler(threading.Thread):
    """GPU utilisation and memory (NVML), per-pid GPU memory, host CPU %, every 0.2 s."""

    def __init__(self, gpu_index: int | None) -> None:
        super().__init__(daemon=True)
        self.samples: list[dict[str, Any]] = []
        self.pid_peak_mb: dict[int, float] = {}
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.nvml = self.handle = None
        if gpu_index is not None:
            import pynvml

            pynvml.nvmlInit()
            self.nvml, self.handle = pynvml, pynvml.nvmlDeviceGetHandleByIndex(gpu_index)

    def run(self) -> None:
        import psutil

        psutil.cpu_percent(None)
        while not self.stop.wait(0.2):
            sample: dict[str, Any] = {"t": time.time(), "cpu": psutil.cpu_percent(None)}
            if self.handle is not None:
                sample["util"] = self.nvml.nvmlDeviceGetUtilizationRates(self.handle).gpu
                sample["mem_mb"] = self.nvml.nvmlDeviceGetMemoryInfo(self.handle).used / 2**20
                self._per_process()
            self.samples.append(sample)

    def _per_process(self) -> None:
        for query in ("nvmlDeviceGetComputeRunningProcesses",
                      "nvmlDeviceGetMPSComputeRunningProcesses"):
            try:
                procs = getattr(self.nvml, query)(self.handle)
            except Exception as e:  # not supported by this driver/NVML: report once
                if query not in " ".join(self.errors):
                    self.errors.append(f"{query}: {e}")
                continue
            for p in procs:
                used = (p.usedGpuMemory or 0) / 2**20
                self.pid_peak_mb[p.pid] = max(self.pid_peak_mb.get(p.pid, 0.0), used)

    def summary(self, start: float, end: float) -> dict[str, Any]:
        window = [s for s in self.samples if start <= s["t"] <= end]
        util = [s["util"] for s in window if "util" in s]
        return {"gpu_util_mean": _mean(util), "gpu_util_max": max(util, default=None),
                "gpu_mem_peak_mb": max((s["mem_mb"] for s in window if "mem_mb" in s),
                                       default=None),
                "cpu_mean": _mean([s["cpu"] for s in window]), "samples": len(window)}

    def close(self) -> None:
        self.stop.set()
        self.join(timeout=2)
        if self.nvml is not None:
            self.nvml.nvmlShutdown()


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


# --------------------------------------------------------------------------- run
def plan_mode(mode: str, names: list[str], metas: dict[str, dict], probe: Any,
              slots: int) -> list[Any]:
    """The resource plans of one mode: one per model (sequential: each planned as if alone)
    or one for all, packed `slots` to the GPU (the GPU pool's size)."""
    from training_lib.resources.plan import ModelNeed, plan_resources

    needs = [ModelNeed(n, metas[n]["footprint_mb"], metas[n]["batch_size"]) for n in names]
    if mode == "sequential":
        return [plan_resources(probe, [need], gpu_packing=len(needs)) for need in needs]
    return [plan_resources(probe, needs, gpu_packing=slots)]


def launch(name: str, plan: Any, args: argparse.Namespace, tmp: Path, total_mb: int | None,
           mode: str) -> tuple[subprocess.Popen, Path, Path]:
    from training_lib.resources.apply import environment_for

    entry = plan.models[name]
    tag = mode.replace(":", "-")
    plan_file = plan.save(tmp / f"{tag}-{name}-plan.json")
    out, log = tmp / f"{tag}-{name}.json", tmp / f"{tag}-{name}.log"
    cmd = [sys.executable, __file__, "worker", "--data", str(args.data), "--model", name,
           "--plan", str(plan_file), "--out", str(out), "--spawned", repr(time.time())]
    if args.epochs:
        cmd += ["--epochs", str(args.epochs)]
    if args.async_clock:
        cmd.append("--async-clock")
    extra = dict(kv.split("=", 1) for kv in args.env)
    env = {**os.environ, **environment_for(entry, total_mb), **extra}
    with log.open("w") as f:
        return subprocess.Popen(cmd, env=env, stdout=f, stderr=subprocess.STDOUT), out, log


def collect(name: str, proc: subprocess.Popen, out: Path, log: Path) -> dict[str, Any]:
    if proc.returncode != 0 or not out.exists():
        raise SystemExit(f"{name}: worker exited {proc.returncode}\n{log.read_text()[-4000:]}")
    r = {**json.loads(out.read_text()), "exited": time.time()}
    m = r["marks"]
    print(f"  {name}: {r['samples_per_s'] or 0:,.0f} samples/s, test {r['metric']} "
          f"{r['test']:.3f}, spawn -> first batch {m['first_batch'] - m['spawn']:.1f} s, "
          f"fit {m['fit_end'] - m['fit']:.1f} s, spawn -> exit {r['exited'] - m['spawn']:.1f} s",
          flush=True)
    return r


def run_mode(mode: str, names: list[str], metas: dict, probe: Any, args: argparse.Namespace,
             tmp: Path, sampler: Sampler) -> dict[str, Any]:
    """Train `names` under one mode: "sequential" (one at a time), "packed" (all at once)
    or "packed:K" (planned for a GPU pool of K slots, at most K at once, like Airflow's)."""
    from training_lib.resources import mps
    from training_lib.resources.apply import mps_pipe_dir

    kind, _, k = mode.partition(":")
    if kind not in ("sequential", "packed"):
        raise SystemExit(f"--modes: got {mode!r}; expected sequential, packed or packed:K")
    slots = 1 if kind == "sequential" else int(k or len(names))
    total_mb = probe.gpus[0].memory_total_mb if probe.gpus else None
    plans = plan_mode(kind, names, metas, probe, slots)
    plan_of = {n: p for p in plans for n in p.models}
    pipes = {mps_pipe_dir(p.models[n]) for n, p in plan_of.items() if p.models[n].mps}
    mps_on = bool(pipes) and all([mps.ensure_daemon(pipe, "0") for pipe in pipes])
    started = time.time()
    pending, running, results = list(names), {}, {}
    try:
        while pending or running:
            while pending and len(running) < slots:
                name = pending.pop(0)
                running[name] = launch(name, plan_of[name], args, tmp, total_mb, mode)
            time.sleep(0.05)
            for name, (proc, out, log) in list(running.items()):
                if proc.poll() is not None:
                    del running[name]
                    results[name] = collect(name, proc, out, log)
            if time.time() - started > args.timeout:
                raise SystemExit(f"{mode}: still running after {args.timeout:.0f} s: "
                                 f"{sorted(running)}")
    finally:
        for proc, _, _ in running.values():
            proc.kill()
        for pipe in pipes:
            mps.stop_daemon(pipe)
    ended = time.time()
    for name, r in results.items():
        entry = plan_of[name].models[name]
        r.update(cap_mb=entry.gpu_memory_mb, device_planned=entry.device, mps=entry.mps,
                 cpu_threads=entry.cpu_threads, nvml_peak_mb=sampler.pid_peak_mb.get(r["pid"]))
    return {"mode": mode, "slots": slots, "wall_s": ended - started, "start": started,
            "end": ended, "models": results, "mps_planned": bool(pipes), "mps": mps_on,
            "fit_threads_cpu_s": thread_totals(results), **sampler.summary(started, ended)}


def thread_totals(results: dict[str, dict]) -> dict[str, float]:
    """CPU seconds during fit by thread name, summed over the mode's processes (top 8)."""
    totals: dict[str, float] = {}
    for r in results.values():
        for name, cpu in r.get("fit_threads", {}).items():
            totals[name] = totals.get(name, 0.0) + cpu
    return {k: round(v, 1) for k, v in sorted(totals.items(), key=lambda kv: -kv[1])[:8]}


def overlap(results: dict[str, dict]) -> dict[str, float]:
    """Mean number of models in fit at the same time as each model's steady window."""
    spans = {n: (r["marks"]["first_batch"], r["marks"]["fit_end"]) for n, r in results.items()}
    out = {}
    for name, (a, b) in spans.items():
        if b <= a:
            out[name] = 1.0
            continue
        shared = sum(max(0.0, min(b, d) - max(a, c)) for c, d in spans.values())
        out[name] = shared / (b - a)
    return out


def agree(metric: str, a: float, b: float, n: int) -> tuple[float, bool]:
    """Tolerance for two training runs' test scores: 3 standard errors of the difference
    of two binomial proportions for accuracy-like metrics, 0.05 absolute for R^2."""
    if metric in ("accuracy", "exact_match"):
        p = min(max((a + b) / 2, 1 / n), 1 - 1 / n)
        tol = max(3 * (2 * p * (1 - p) / n) ** 0.5, 1.01 / n)
    else:
        tol = 0.05
    return tol, abs(a - b) <= tol


def run(args: argparse.Namespace) -> None:
    import numpy as np

    from training_lib.resources.probe import probe_machine

    with np.load(args.data) as npz:
        metas = json.loads(str(npz["__meta__"]))
    names = args.models.split(",") if args.models else list(metas)
    unknown = [n for n in names if n not in metas]
    if unknown:
        raise SystemExit(f"--models: {unknown} not in {args.data} (has {list(metas)})")
    probe = probe_machine()
    if args.no_mps:  # to measure what MPS brings: plan as if the machine had none
        probe = dataclasses.replace(probe, mps=False)
    gpu = probe.gpus[0] if probe.gpus else None
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    print(f"GPU: {gpu.name + f', {gpu.memory_total_mb} MiB' if gpu else 'none'} "
          f"({probe.nvml_error or 'NVML ok'}); CPUs {probe.cpu_allowed}; MPS available: "
          f"{probe.mps}; backend {backend}; {len(names)} models", flush=True)
    t = time.time()  # the first process pays for cold imports: keep that out of both modes
    subprocess.run([sys.executable, "-c", "import keras, numpy"], check=True,
                   env={**os.environ, "XLA_PYTHON_CLIENT_PREALLOCATE": "false"})
    print(f"warm-up import of keras: {time.time() - t:.1f} s", flush=True)
    modes = args.modes.split(",")
    sampler = Sampler(0 if gpu else None)
    sampler.start()
    runs: dict[str, dict] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="family-gpu-") as tmp:
            for mode in modes:
                runs[mode] = run_mode(mode, names, metas, probe, args, Path(tmp), sampler)
                r = runs[mode]
                print(f"{mode}: {r['wall_s']:.1f} s wall; GPU util mean {r['gpu_util_mean']}% "
                      f"max {r['gpu_util_max']}%; GPU memory peak {r['gpu_mem_peak_mb']} MiB; "
                      f"host CPU mean {r['cpu_mean']}%; MPS {r['mps']}; XLA_FLAGS "
                      f"{next(iter(r['models'].values()))['env'].get('XLA_FLAGS')!r}", flush=True)
    finally:
        sampler.close()
    report(runs, names, probe, backend, sampler, args)


def report(runs: dict[str, dict], names: list[str], probe: Any, backend: str,
           sampler: Sampler, args: argparse.Namespace) -> None:
    packed_mode = "packed" if "packed" in runs else next(
        (m for m in runs if m != "sequential"), None)  # the table's packed column
    seq, packed = runs.get("sequential"), runs.get(packed_mode)
    both = [m for m in ("sequential", packed_mode) if m in runs]
    lap = overlap(packed["models"]) if packed else {}
    print(f"\n{'model':29} {'metric':>17} {'samples/s alone':>15} {'packed':>8} "
          f"{'overlap':>7} {'test alone':>10} {'packed':>7} {'agree':>5} "
          f"{'launch s alone/packed':>21} {'GPU MiB NVML a/p':>16} {'JAX MiB pk/limit':>18} "
          f"{'fit CPU% a/p':>12}")
    rows = {}
    for name in names:
        by = {m: runs[m]["models"][name] for m in both}
        first = next(iter(by.values()))
        row: dict[str, Any] = {"metric": first["metric"], "n_train": first["n_train"],
                               "n_test": first["n_test"], "epochs": first["epochs"],
                               "batch_size": first["batch_size"]}
        for mode, r in by.items():
            key = "alone" if mode == "sequential" else "packed"
            m = r["marks"]
            row[f"samples_per_s_{key}"] = round(r["samples_per_s"] or 0, 1)
            row[f"test_{key}"] = round(r["test"], 4)
            row[f"launch_s_{key}"] = round(m["first_batch"] - m["spawn"], 2)
            row[f"import_s_{key}"] = round(m["imported"] - m["spawn"], 2)
            row[f"compile_s_{key}"] = round(m["first_batch"] - m["fit"], 2)
            row[f"fit_s_{key}"] = round(m["fit_end"] - m["fit"], 2)
            row[f"process_s_{key}"] = round(m["evaluated"] - m["spawn"], 2)
            row[f"fit_cpu_pct_{key}"] = round(r["fit_cpu_pct"], 1)
            row[f"nvml_peak_mb_{key}"] = r.get("nvml_peak_mb") and round(r["nvml_peak_mb"])
            row[f"jax_peak_mb_{key}"] = r.get("jax_peak_mb") and round(r["jax_peak_mb"])
            row[f"jax_limit_mb_{key}"] = r.get("jax_limit_mb") and round(r["jax_limit_mb"])
            row[f"cap_mb_{key}"] = r["cap_mb"]
            row[f"tensorflow_imported_{key}"] = r["tensorflow_imported"]
        if seq and packed:
            tol, ok = agree(row["metric"], row["test_alone"], row["test_packed"], row["n_test"])
            row.update(agree=ok, tolerance=round(tol, 4), overlap=round(lap[name], 1),
                       packed_vs_alone=round(row["samples_per_s_packed"]
                                             / max(row["samples_per_s_alone"], 1e-9), 3))
        rows[name] = row

        def pair(key: str, fmt: str = "{}") -> str:
            return "/".join(fmt.format(row.get(f"{key}_{k}")) for k in ("alone", "packed")
                            if f"{key}_{k}" in row)

        def num(key: str, fmt: str) -> str:
            return "-" if row.get(key) is None else format(row[key], fmt)

        jax_mem = pair("jax_peak_mb").split("/")[-1] + "/" + pair("jax_limit_mb").split("/")[-1]
        print(f"{name:29} {row['metric']:>17} {num('samples_per_s_alone', ',.0f'):>15} "
              f"{num('samples_per_s_packed', ',.0f'):>8} {num('overlap', '.1f'):>7} "
              f"{num('test_alone', '.3f'):>10} {num('test_packed', '.3f'):>7} "
              f"{num('agree', ''):>5} {pair('launch_s'):>21} {pair('nvml_peak_mb'):>16} "
              f"{jax_mem:>18} {pair('fit_cpu_pct'):>12}")
    result: dict[str, Any] = {
        "bench": "family_gpu", "gpu": probe.gpus[0].name if probe.gpus else None,
        "backend": backend, "cpus": probe.cpu_allowed, "models_n": len(names),
        "epochs": args.epochs or "schedule", "mps": bool(packed and packed["mps"]),
        "label": args.label, "env": args.env, "async_clock": args.async_clock,
        "no_mps": args.no_mps,
        "packed_mode": packed_mode, "nvml_errors": sampler.errors}
    print()
    for mode, r in runs.items():
        vs = f", {r['wall_s'] / seq['wall_s']:.3f} of sequential" if seq and r is not seq else ""
        print(f"{mode}: wall {r['wall_s']:.1f} s{vs}; CPU s during fit by thread: "
              f"{r['fit_threads_cpu_s']}")
    for mode, r in runs.items():
        result[mode] = {k: (round(v, 1) if isinstance(v, float) else v) for k, v in r.items()
                        if k not in ("models", "start", "end")}
    if seq and packed:
        ratio = packed["wall_s"] / seq["wall_s"]
        result.update(wall_sequential_s=round(seq["wall_s"], 1),
                      wall_packed_s=round(packed["wall_s"], 1), ratio=round(ratio, 3),
                      goal_quarter_met=ratio <= 0.25,
                      all_agree=all(r["agree"] for r in rows.values()),
                      tensorflow_imported=any(v for r in rows.values() for k, v in r.items()
                                              if k.startswith("tensorflow_imported")))
        launch = max(r["launch_s_packed"] for r in rows.values())
        print(f"family wall time: one after another {seq['wall_s']:.1f} s, {packed_mode} "
              f"{packed['wall_s']:.1f} s, ratio {ratio:.3f} (goal <= 0.25: "
              f"{'met' if ratio <= 0.25 else 'not met'}); packed: slowest launch (spawn -> "
              f"first batch) {launch:.1f} s; sum of launches alone "
              f"{sum(r['launch_s_alone'] for r in rows.values()):.1f} s")
    result["models"] = rows
    print(json.dumps(result))


# --------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("export", help="demo data -> every model's arrays in one .npz (local)")
    ex.add_argument("--out", type=Path, required=True)
    ex.add_argument("--demo", type=Path, help="an existing demo data folder (default: make one)")
    ex.add_argument("--models", help="comma-separated model names (default: all eleven)")
    ex.add_argument("--max-train", type=int, default=0, help="cap on training rows per model")
    rn = sub.add_parser("run", help="train the family packed and one after another (GPU)")
    rn.add_argument("--data", type=Path, required=True)
    rn.add_argument("--models", help="comma-separated model names (default: all in --data)")
    rn.add_argument("--epochs", type=int, default=0, help="epochs for every model "
                    "(default: each model's schedule, as bench/models.py)")
    rn.add_argument("--modes", default="sequential,packed",
                    help="sequential, packed (all at once), packed:K (a GPU pool of K slots)")
    rn.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                    help="extra environment for every worker (after the plan's)")
    rn.add_argument("--async-clock", action="store_true",
                    help="let Keras dispatch the batch hook asynchronously (no sync per step)")
    rn.add_argument("--no-mps", action="store_true", help="plan as if MPS were unavailable")
    rn.add_argument("--label", default="", help="a name for this run in the JSON line")
    rn.add_argument("--timeout", type=float, default=900.0, help="seconds per mode")
    wk = sub.add_parser("worker", help=argparse.SUPPRESS)
    for flag in ("--data", "--model", "--plan", "--out"):
        wk.add_argument(flag, required=True)
    wk.add_argument("--epochs", type=int, default=0)
    wk.add_argument("--spawned", type=float, required=True)
    wk.add_argument("--async-clock", action="store_true")
    args = parser.parse_args(argv)
    {"export": export, "run": run, "worker": worker}[args.command](args)


if __name__ == "__main__":
    main()
