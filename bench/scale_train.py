"""The training arms of bench/scale.py, each run in a child process of its own.

`lib`: the worker's path (training_lib/pipeline/worker.py): LoadRequest -> the model's
loader from the registry -> build_model -> ResumableFit, one epoch. `bare`: the same
images' cache entries (.npy, memory-mapped by np.load) through tf.data (a numpy_function
reading one batch, batch order from a seeded permutation, prefetch) into the same
Keras model with `model.fit`. Both carry the same timing callback.
"""
from __future__ import annotations

import json
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

MODEL, BATCH, SEED, WARM_STEPS = "vision_service", 64, 0, 10


def _timing(cap: int) -> Any:
    import keras

    class Timing(keras.callbacks.Callback):
        """Batch end times (steady rate after the warm-up steps) and the validation time."""

        def __init__(self) -> None:
            super().__init__()
            self.ends: list[float] = []
            self.val_s = 0.0
            self._val_start = 0.0

        def on_train_begin(self, logs: Any = None) -> None:
            self.begin = time.perf_counter()

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            self.ends.append(time.perf_counter())
            if cap and len(self.ends) >= cap:
                self.model.stop_training = True

        def on_test_begin(self, logs: Any = None) -> None:
            self._val_start = time.perf_counter()

        def on_test_end(self, logs: Any = None) -> None:
            self.val_s += time.perf_counter() - self._val_start

        def warm(self) -> int:
            return min(WARM_STEPS, len(self.ends) // 5)

        def steady_rate(self) -> float:
            steps = len(self.ends) - 1 - self.warm()
            return steps * BATCH / (self.ends[-1] - self.ends[self.warm()]) if steps > 0 else 0.0

    return Timing()


def _manifest(root: Path, n: int) -> list:
    from training_lib.data.records import FileRecord

    data = json.loads((root / f"state-{n}" / "run" / "manifests" / f"{MODEL}.json").read_text())
    return [FileRecord.from_json(item) for item in data["files"]]


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_arm(args: Any, settings: Any) -> dict[str, Any]:
    import keras

    from training_lib.models.resolve import build_model, spec_for

    records = _manifest(args.root, args.n)
    data_root = args.root / f"data-{args.n}"
    spec = spec_for(MODEL, settings)
    keras.utils.set_random_seed(SEED)
    start = time.perf_counter()
    if args.arm == "lib":
        from training_lib.data.labels import label_options
        from training_lib.data.loaders.registry import LoadRequest, load_dataset
        from training_lib.data.rows import is_streamed

        req = LoadRequest(MODEL, records, data_root, settings, label_options(settings, MODEL))
        dataset = load_dataset(spec.loader, req)
        streamed = is_streamed(dataset.x["train"])
        n_train, n_val = dataset.size("train"), dataset.size("val")
    else:
        streamed = True
        dataset, train, val = _bare_inputs(records, settings)
        n_train, n_val = len(train[0]), len(val[0])
    load_s, rss_loaded = time.perf_counter() - start, _rss_mib()
    model = build_model(spec, dataset, 1e-3)
    steps_per_epoch = -(-n_train // BATCH)
    cap = args.train_steps if 0 < args.train_steps < steps_per_epoch else 0
    timing = _timing(cap)
    start = time.perf_counter()
    if args.arm == "lib":
        from training_lib.training.checkpoints import CheckpointStore
        from training_lib.training.engine import FitPlan, ResumableFit

        plan = FitPlan(epochs=1, batch_size=BATCH, seed=SEED, at_epoch_end=False)
        with tempfile.TemporaryDirectory() as tmp:
            ResumableFit(model, dataset, plan, CheckpointStore(Path(tmp)),
                         extra_callbacks=[timing]).run()
    else:
        model.fit(_tf_batches(*train, shuffle=True), validation_data=_tf_batches(*val),
                  epochs=1, verbose=0, callbacks=[timing])
    end = time.perf_counter()
    fit_s = end - start
    return {"arm": args.arm, "n_train": n_train, "n_val": n_val, "streamed": streamed,
            "steps": len(timing.ends), "steps_per_epoch": steps_per_epoch, "capped": bool(cap),
            "train_samples_per_s": timing.steady_rate(), "fit_s": fit_s, "val_s": timing.val_s,
            "before_first_step_s": timing.begin - start,
            "warm_up_s": timing.ends[timing.warm()] - timing.begin,
            "train_s": timing.ends[-1] - timing.begin,
            "after_last_step_s": end - timing.ends[-1],
            "load_s": load_s, "rss_after_load_mib": rss_loaded, "peak_rss_mib": _rss_mib()}


def _bare_inputs(records: list, settings: Any) -> tuple[Any, tuple, tuple]:
    """(a stub Dataset to build the model from, (train paths, labels), (val paths, labels)):
    the images loader's rows (labelled images, deterministic split), as plain lists."""
    from training_lib.data.dataset import Dataset
    from training_lib.data.features.cache import FeatureCache
    from training_lib.data.loaders.splits import split_fractions
    from training_lib.data.records import split_key, split_of

    cache = FeatureCache()
    labelled = [r for r in records if r.label]
    classes = sorted({r.label for r in labelled})
    splits: dict[str, tuple[list[str], list[int]]] = {"train": ([], []), "val": ([], []),
                                                      "test": ([], [])}
    for r in labelled:
        kind = "document" if r.type == "document" else "image"
        paths, labels = splits[split_of(split_key(r), split_fractions(settings))]
        paths.append(str(cache.path(kind, r, settings.preprocessing)))
        labels.append(classes.index(r.label))
    size = settings.preprocessing.image_size
    stub = Dataset(MODEL, {}, {}, classes, {"image_size": size, "channels": 3})
    return stub, splits["train"], splits["val"]


def _tf_batches(paths: list[str], labels: list[int], shuffle: bool = False) -> Any:
    import tensorflow as tf

    labels_arr = np.asarray(labels, np.int32)
    order = np.random.default_rng(SEED).permutation(len(paths)) if shuffle else np.arange(len(paths))
    n_batches = -(-len(paths) // BATCH)
    shape = np.load(paths[0], mmap_mode="r").shape

    def read(i: np.int64) -> tuple[np.ndarray, np.ndarray]:
        rows = order[int(i) * BATCH:(int(i) + 1) * BATCH]
        return (np.stack([np.load(paths[j], mmap_mode="r") for j in rows]), labels_arr[rows])

    def fix(x: Any, y: Any) -> tuple[Any, Any]:
        x.set_shape((None, *shape))
        y.set_shape((None,))
        return x, y

    ds = tf.data.Dataset.range(n_batches).map(
        lambda i: tf.numpy_function(read, [i], (tf.uint8, tf.int32)),
        num_parallel_calls=tf.data.AUTOTUNE).map(fix)
    return ds.prefetch(tf.data.AUTOTUNE)
