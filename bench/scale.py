"""The pipeline at 10k and 100k files: time, peak memory and files/s per stage, then one
epoch of the vision model from the feature cache against a bare tf.data pipeline.

    python bench/scale.py [--sizes 10000,100000] [--train-sizes 10000] [--train-steps 0]

Data (bench/scale_data.py, generated once into --root and reused): N real-content files,
88% handwritten digits (scikit-learn's scans with a random affine transform, shades and
noise each, PNG at --image-px), 10% fortune-corpus texts, 2% spoken digits with random
speed, gain and noise.

Stages, in this process, calling what the DAG tasks call (pipeline/stages.py) on the
`full_dataset_training` preset (target_models auto, `image_size: 128`):
first run, fresh catalog: scan (scan_folder + records.jsonl) -> near-duplicates
(mark_duplicates again, alone) -> validate (preset labels + Great Expectations) -> route
(+ manifests) -> features (FeatureCache.build of every routed media file) -> quality
report (summary + HTML); repeat run on the unchanged folder, feature cache built:
rescan -> validate -> route -> features (all hits). Each stage prints its wall time, the
peak RSS of this process and its children (psutil, sampled every 50 ms) and files/s.
The registry is left out: it registers trained models, not files, so N does not reach it.

Training (--train-sizes): two child processes (peak RSS per arm), both one epoch of
vision_service at batch 64 over the same routed images' cache entries: `lib` through
the worker's path (loaders registry -> build_model -> ResumableFit, streaming the splits
from the cache when they are large), `bare` through tf.data (np.load of the memory-mapped
.npy entries in a numpy_function, batch, prefetch) into the same Keras model. samples/s
is the steady rate of the training steps (after 10 warm-up steps, same callback in both
arms; median over --train-repeats runs of each arm, order alternating); the epoch's wall
time includes the validation pass. --train-steps caps the steps (the whole dataset is still
loaded) and the output says so.

Targets (issue 17, on 2 cores): scan + validate + route of 100k files <= 60 s after the
feature cache is built; vision training peak RSS <= 4 GiB at 100k; throughput >= 0.9 of
the bare pipeline; no stage worse than O(N log N). Final line: one JSON {"bench": "scale"}.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
MODEL, BATCH, SEED, WARM_STEPS = "vision_service", 64, 0, 10


class PeakRss:
    """Peak RSS of this process plus its children, sampled every 50 ms by a thread."""

    def __init__(self) -> None:
        import psutil

        self.proc, self.peak = psutil.Process(), 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _sample(self) -> int:
        import psutil

        total = 0
        try:
            procs = [self.proc, *self.proc.children(recursive=True)]
        except psutil.Error:
            procs = [self.proc]
        for p in procs:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(0.05)

    def reset(self) -> None:
        self.peak = self._sample()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def stage(rows: list[dict], meter: PeakRss, name: str, n_files: int, fn: Any) -> Any:
    meter.reset()
    start = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - start
    row = {"stage": name, "s": round(seconds, 2), "peak_rss_mib": round(meter.peak / 2**20),
           "files_per_s": round(n_files / seconds) if seconds else None}
    rows.append(row)
    print(f"  {name:<26} {seconds:8.2f} s  peak RSS {row['peak_rss_mib']:6d} MiB  "
          f"{row['files_per_s'] or 0:8d} files/s", flush=True)
    return out


def preset_for(data: Path, image_px: int) -> Any:
    from training_lib.config.presets import load_preset

    preset = load_preset("full_dataset_training")
    pre = {**preset.settings.preprocessing.model_dump(), "image_size": image_px}
    return preset.with_overrides(data_root=str(data), preprocessing=pre).settings


def write_jsonl(path: Path, records: list) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec.to_json()) + "\n")


def pipeline(data: Path, state: Path, n: int, args: argparse.Namespace) -> dict[str, Any]:
    """Every data stage twice (first run on a fresh catalog, then the repeat run)."""
    os.environ["TLIB_VAR_DIR"] = str(state / "var")
    from training_lib import settings as lib_settings
    from training_lib.config.model_specs import MODELS
    from training_lib.data.catalog import Catalog
    from training_lib.data.expectations import validate_catalog
    from training_lib.data.features.cache import FeatureCache
    from training_lib.data.labels import preset_labels
    from training_lib.data.quality.duplicates import mark_duplicates
    from training_lib.data.quality.limits import QualityLimits
    from training_lib.data.quality.report import summary_text, write_html
    from training_lib.data.records import FileRecord
    from training_lib.data.routing import route
    from training_lib.data.scan.roots import check_data_folder
    from training_lib.data.scan.scanner import scan_folder
    from training_lib.models.resolve import spec_for

    settings = preset_for(data, args.image_px)
    specs = {name: spec_for(name, settings) for name in MODELS}
    supervised = {k for s in specs.values() if s.supervised for k in s.consumes
                  if not k.startswith("records:")}
    run = state / "run"
    (run / "manifests").mkdir(parents=True, exist_ok=True)
    db = lib_settings.store_dir() / "catalog.sqlite"
    for stale in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        stale.unlink(missing_ok=True)  # the first run scans from scratch
    if not args.keep_features:  # ... and decodes every file again
        import shutil

        shutil.rmtree(lib_settings.store_dir() / "features", ignore_errors=True)
    meter, rows = PeakRss(), []

    def scan() -> Any:
        check_data_folder(data)
        with Catalog(db) as catalog:
            report = scan_folder(data, catalog, workers=args.workers,
                                 min_class_files=settings.min_class_files)
        write_jsonl(run / "records.jsonl", report.records)
        return report

    def validate() -> list:
        lines = (run / "records.jsonl").read_text().splitlines()
        records = [FileRecord.from_json(json.loads(line)) for line in lines if line.strip()]
        records = preset_labels(records, settings, data).apply(records)
        summary = validate_catalog(records, preset=settings, supervised_types=supervised,
                                   out_dir=run / "validation")
        if not summary.success:
            raise SystemExit(f"validation failed: {summary.critical}")
        return records

    def routed(records: list) -> Any:
        routing = route(records, settings, specs, None)
        for model, files in routing.manifests.items():
            (run / "manifests" / f"{model}.json").write_text(json.dumps(
                {"model": model, "counts": routing.counts[model],
                 "files": [r.to_json() for r in files]}))
        return routing

    def features(routing: Any) -> dict[str, Any]:
        unique = {r.content_hash: r for files in routing.manifests.values() for r in files
                  if r.type not in ("json", "tabular")}
        return FeatureCache().build(data, list(unique.values()), settings.preprocessing,
                                    workers=args.workers)

    print(f"N = {n}: first run (fresh catalog)", flush=True)
    report = stage(rows, meter, "scan", n, scan)
    print(f"    of which scan_folder {report.elapsed_s:.2f} s (the rest: records.jsonl)", flush=True)
    limits = QualityLimits()
    stage(rows, meter, "near-duplicates", n,
          lambda: mark_duplicates(report.records, limits.near_duplicate_bits))
    records = stage(rows, meter, "validate (labels + GX)", n, validate)
    routing = stage(rows, meter, "route", n, lambda: routed(records))
    built = stage(rows, meter, "features", n, lambda: features(routing))
    stage(rows, meter, "quality report", n,
          lambda: write_html(report, run / "quality.html") and summary_text(report))
    del report, records, routing
    print(f"N = {n}: repeat run (unchanged folder, feature cache built)", flush=True)
    again = stage(rows, meter, "rescan", n, scan)
    assert again.inspected == 0, again.inspected
    print(f"    of which scan_folder {again.elapsed_s:.2f} s (the rest: records.jsonl)", flush=True)
    rescan_folder_s = again.elapsed_s
    del again
    records = stage(rows, meter, "validate again", n, validate)
    routing = stage(rows, meter, "route again", n, lambda: routed(records))
    hits = stage(rows, meter, "features again (hits)", n, lambda: features(routing))
    meter.close()
    by = {r["stage"]: r for r in rows}
    repeat_s = by["rescan"]["s"] + by["validate again"]["s"] + by["route again"]["s"]
    flags: dict[str, int] = {}
    for r in records:
        for f in r.flags:
            flags[f] = flags.get(f, 0) + 1
    return {"files": n, "stages": rows, "first_scan_validate_route_s": round(
        by["scan"]["s"] + by["validate (labels + GX)"]["s"] + by["route"]["s"], 1),
        "repeat_scan_validate_route_s": round(repeat_s, 1),
        "rescan_scan_folder_s": round(rescan_folder_s, 3),
        "features_computed": built["computed"], "features_cached": built["cached"],
        "features_failed": len(built["failed"]), "hits_cached": hits["cached"],
        "routed": {m: len(f) for m, f in routing.manifests.items()}, "flags": flags}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000", help="comma-separated N")
    parser.add_argument("--train-sizes", default=None, help="N to train at (default: --sizes)")
    parser.add_argument("--train-steps", type=int, default=0, help="cap on training steps (0: one epoch)")
    parser.add_argument("--train-repeats", type=int, default=2,
                        help="runs of each arm, order alternating (median samples/s, max RSS)")
    parser.add_argument("--root", type=Path, default=Path("/tmp/bench-scale"), help="cached data and state")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep-features", action="store_true",
                        help="keep the feature cache of an earlier run (default: build it again)")
    parser.add_argument("--train-only", action="store_true",
                        help="skip the data stages; train from an earlier run's manifests")
    parser.add_argument("--image-px", type=int, default=128)
    parser.add_argument("--arm", choices=("lib", "bare"), help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.arm:
        from scale_train import run_arm

        print(json.dumps(run_arm(args, preset_for(data_dir(args, args.n), args.image_px))))
        return 0
    from scale_data import ensure_folder

    sizes = [int(s) for s in args.sizes.split(",")]
    wanted = args.sizes if args.train_sizes is None else args.train_sizes
    train_sizes = [int(s) for s in wanted.split(",") if s.strip()]
    results: dict[int, dict[str, Any]] = {}
    for n in ([] if args.train_only else sizes):
        made = ensure_folder(data_dir(args, n), n, demo=ROOT / "data" / "demo", px=args.image_px,
                             workers=args.workers)
        print(f"data: {n} files {made['counts']} at {data_dir(args, n)} "
              f"({'generated in ' + str(made['generate_s']) + ' s' if made['generated_now'] else 'cached'})",
              flush=True)
        results[n] = pipeline(data_dir(args, n), args.root / f"state-{n}", n, args)
        print(f"  routed: {results[n]['routed']}; flags: {results[n]['flags']}", flush=True)
    for n in train_sizes:
        results.setdefault(n, {})
        runs: dict[str, list[dict[str, Any]]] = {"lib": [], "bare": []}
        for i in range(args.train_repeats):  # alternating order: the machine's speed drifts
            for arm in (("lib", "bare") if i % 2 == 0 else ("bare", "lib")):
                runs[arm].append(train_arm(args, n, arm))
        results[n]["training"] = {arm: summarize(rs) for arm, rs in runs.items()}
    print_summary(results, args)
    return 0


def data_dir(args: argparse.Namespace, n: int) -> Path:
    return args.root / f"data-{n}"


def train_arm(args: argparse.Namespace, n: int, arm: str) -> dict[str, Any]:
    env = {**os.environ, "TLIB_VAR_DIR": str(args.root / f"state-{n}" / "var")}
    cmd = [sys.executable, __file__, "--arm", arm, "--n", str(n), "--root", str(args.root),
           "--image-px", str(args.image_px), "--train-steps", str(args.train_steps)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{arm} arm failed:\n{done.stderr[-4000:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"N = {n} training, {arm}: {out['train_samples_per_s']:.1f} samples/s (steady), "
          f"{out['steps']} steps of {out['steps_per_epoch']}{' (capped)' if out['capped'] else ''}, "
          f"n_train {out['n_train']}, fit {out['fit_s']:.1f} s ({out['before_first_step_s']:.1f} s before "
          f"the first step, {out['train_s']:.1f} s of steps, the first {min(10, out['steps'] // 5)} "
          f"{out['warm_up_s']:.1f} s; {out['after_last_step_s']:.1f} s after the last, validation "
          f"{out['val_s']:.1f} s of it), load {out['load_s']:.1f} s, "
          f"streamed={out['streamed']}, peak RSS "
          f"{out['peak_rss_mib']:.0f} MiB", flush=True)
    return out


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One arm over its runs: median steady samples/s, the largest peak RSS."""
    import statistics

    return {**runs[0], "train_samples_per_s": statistics.median(r["train_samples_per_s"] for r in runs),
            "all_samples_per_s": [round(r["train_samples_per_s"], 1) for r in runs],
            "peak_rss_mib": max(r["peak_rss_mib"] for r in runs)}


def print_summary(results: dict[int, dict[str, Any]], args: argparse.Namespace) -> None:
    sizes = sorted(results)
    staged = [n for n in sizes if "stages" in results[n]]
    if staged:
        print("\nstage                       " + "".join(f"{'N=' + str(n):>26}" for n in staged)
              + ("   time ratio" if len(staged) > 1 else ""))
    for name in [r["stage"] for r in results[staged[0]]["stages"]] if staged else []:
        rows = [next(r for r in results[n]["stages"] if r["stage"] == name) for n in staged]
        cells = [f"{r['s']:9.2f} s {r['peak_rss_mib']:6d} MiB {r['files_per_s'] or 0:7d}/s" for r in rows]
        ratio = f"   x{rows[-1]['s'] / rows[0]['s']:.1f}" if len(rows) > 1 and rows[0]["s"] else ""
        print(f"{name:<26}" + "".join(f"{c:>26}" for c in cells) + ratio)
    out: dict[str, Any] = {"bench": "scale", "cpus": os.cpu_count(), "image_px": args.image_px,
                           "sizes": sizes}
    goals: dict[str, bool] = {}
    for n in sizes:
        r, row_out = results[n], {}
        if "stages" in r:
            row_out = {"first_scan_validate_route_s": r["first_scan_validate_route_s"],
                       "repeat_scan_validate_route_s": r["repeat_scan_validate_route_s"],
                       "rescan_scan_folder_s": r["rescan_scan_folder_s"],
                       **{row["stage"]: row["s"] for row in r["stages"]},
                       "peak_rss_mib": max(row["peak_rss_mib"] for row in r["stages"])}
            goals[f"n{n}_repeat_scan_validate_route_le_60s"] = r["repeat_scan_validate_route_s"] <= 60
        if "training" in r:
            lib, bare = r["training"]["lib"], r["training"]["bare"]
            t = row_out["training"] = {
                "lib_samples_per_s": round(lib["train_samples_per_s"], 1),
                "bare_samples_per_s": round(bare["train_samples_per_s"], 1),
                "lib_over_bare": round(lib["train_samples_per_s"] / bare["train_samples_per_s"], 3),
                "lib_runs": lib["all_samples_per_s"], "bare_runs": bare["all_samples_per_s"],
                "lib_peak_rss_mib": round(lib["peak_rss_mib"]),
                "bare_peak_rss_mib": round(bare["peak_rss_mib"]),
                "steps": lib["steps"], "steps_per_epoch": lib["steps_per_epoch"],
                "capped": lib["capped"], "n_train": lib["n_train"], "streamed": lib["streamed"]}
            goals[f"n{n}_training_rss_le_4gib"] = t["lib_peak_rss_mib"] <= 4096
            goals[f"n{n}_throughput_ge_0_9_of_bare"] = t["lib_over_bare"] >= 0.9
        out[f"n{n}"] = row_out
    if len(staged) > 1:
        a, b = results[staged[0]]["stages"], results[staged[-1]]["stages"]
        out["time_ratio_by_stage"] = {row["stage"]: round(row["s"] / prev["s"], 1) if prev["s"] else None
                                      for row, prev in zip(b, a)}
    out["goals_met"] = goals
    print(json.dumps(out))

if __name__ == "__main__":
    sys.exit(main())
