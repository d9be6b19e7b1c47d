"""In-memory vs streamed training of vision_service on the same data: the basis of the
streaming threshold (`TLIB_STREAM_ABOVE_MB`, training_lib/data/rows.py).

Both arms load the dataset with the images loader the worker uses, from the same feature
cache, and train the same model with `ResumableFit` for the same epochs and seed; the
`stream` arm sets the threshold to 0 so every split is read from the cache batch by
batch (`RowBatches`), the `memory` arm to 100 GB so every split is one array. Each arm
runs in its own process (peak RSS is per arm), alternating order over `--repeats`.
Reports samples/s, peak RSS, test accuracy; the weights must come out equal, since the
batches are the same.

    python bench/streaming.py [--data data/demo] [--image-size 128] [--epochs 2]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]
THRESHOLD_MB = {"memory": "100000", "stream": "0"}


def arm(args: argparse.Namespace) -> None:
    """One arm in this process: load, train, evaluate, print one JSON line."""
    import hashlib

    import numpy as np

    import keras

    from training_lib.config.presets import load_preset
    from training_lib.data.catalog import Catalog
    from training_lib.data.labels import label_options
    from training_lib.data.loaders.registry import LoadRequest, load_dataset
    from training_lib.data.rows import is_streamed
    from training_lib.data.routing import route
    from training_lib.data.scan.scanner import scan_folder
    from training_lib.models.resolve import build_model, spec_for
    from training_lib.training.checkpoints import CheckpointStore
    from training_lib.training.engine import FitPlan, ResumableFit
    from training_lib.training.evaluation import evaluate

    root, name = Path(args.data), "vision_service"
    settings = load_preset("quick_start").settings
    settings = settings.model_copy(update={"preprocessing": settings.preprocessing.model_copy(
        update={"image_size": args.image_size})})
    catalog = Catalog(Path(args.store) / "catalog.sqlite")
    try:
        report = scan_folder(root, catalog)
    finally:
        catalog.close()
    routing = route(report.records, settings, {name: spec_for(name, settings)}, [name])
    req = LoadRequest(name, routing.manifests[name], root, settings, label_options(settings, name))
    dataset = load_dataset(spec_for(name, settings).loader, req)
    keras.utils.set_random_seed(0)
    model = build_model(spec_for(name, settings), dataset, 1e-3)
    plan = FitPlan(epochs=args.epochs, batch_size=64, seed=0, at_epoch_end=False)
    with tempfile.TemporaryDirectory() as tmp:
        result = ResumableFit(model, dataset, plan, CheckpointStore(Path(tmp))).run()
    scores = evaluate("classification", model, dataset)
    digest = hashlib.sha256(b"".join(np.asarray(w).tobytes() for w in model.get_weights()))
    print(json.dumps({"arm": args.arm, "streamed": is_streamed(dataset.x["train"]),
                      "n_train": dataset.size("train"), "samples_per_s": result.samples_per_second,
                      "fit_s": result.seconds, "accuracy": scores["metric"],
                      "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "weights": digest.hexdigest()[:16]}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT / "data" / "demo"))
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--arm", choices=sorted(THRESHOLD_MB))
    parser.add_argument("--store", help="(arm) the feature cache and catalog folder")
    args = parser.parse_args()
    if args.arm:
        return arm(args)
    store = tempfile.mkdtemp(prefix="bench-streaming-")  # one feature cache for both arms
    results: dict[str, list[dict]] = {"memory": [], "stream": []}
    for i in range(args.repeats):
        for name in (("memory", "stream") if i % 2 == 0 else ("stream", "memory")):
            env = {**os.environ, "TLIB_STREAM_ABOVE_MB": THRESHOLD_MB[name],
                   "TF_CPP_MIN_LOG_LEVEL": "3", "TLIB_VAR_DIR": store}
            out = subprocess.run([sys.executable, __file__, "--arm", name, "--data", args.data,
                                  "--image-size", str(args.image_size), "--epochs", str(args.epochs),
                                  "--store", store],
                                 env=env, capture_output=True, text=True, check=True)
            line = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{name:6s} run {i + 1}: {line['samples_per_s']:.1f} samples/s, peak RSS "
                  f"{line['peak_rss_mib']:.0f} MiB, accuracy {line['accuracy']:.3f}, "
                  f"streamed={line['streamed']}", flush=True)
            results[name].append(line)
    rate = {k: statistics.median(r["samples_per_s"] for r in v) for k, v in results.items()}
    rss = {k: max(r["peak_rss_mib"] for r in v) for k, v in results.items()}
    same = len({r["weights"] for v in results.values() for r in v}) == 1
    print(json.dumps({"bench": "streaming", "image_size": args.image_size,
                      "n_train": results["memory"][0]["n_train"], "epochs": args.epochs,
                      "memory_samples_per_s": round(rate["memory"], 1),
                      "stream_samples_per_s": round(rate["stream"], 1),
                      "stream_over_memory": round(rate["stream"] / rate["memory"], 3),
                      "memory_peak_rss_mib": round(rss["memory"]),
                      "stream_peak_rss_mib": round(rss["stream"]),
                      "accuracy": results["stream"][0]["accuracy"], "same_weights": same}))


if __name__ == "__main__":
    main()
