"""Collaborative against independent training on the demo data, at 5%, 10% and 100% labels.

    python bench/collab.py [--data DIR] [--fractions 0.05,0.1,1] [--seeds 0,1,2]
                           [--strategies cotraining,distillation,shared_text] [--rounds 2]
                           [--captions-without-class]

Steps: demo data (data/demo, or generated into a temp folder) -> scan once -> per
label fraction f and seed: every model keeps f of its *training* labels (per class,
at least one; the others become unlabeled files, and unlabeled pairs records); its
validation and test labels are all kept -> the four models' datasets through their
loaders -> three arms with the same total epochs per model:

- independent: each model fits its epochs on its labeled data (in `--rounds` chunks,
  one optimizer throughout, so that batch boundaries match the other arm);
- self-training: the same rounds, but each model pseudo-labels the same unlabeled pool
  (its view of the paired items in its training split) with its OWN confident
  predictions (softmax >= the co-training threshold), consumed the same way: what a
  model gains without any peer;
- collaborative: `--rounds` rounds of epochs/rounds each; between rounds
  `collab.share.compute_knowledge` (the code the share_knowledge task runs) and per
  model `collab.consume.apply_knowledge` (the code the worker runs).

The arms run in a different order for each seed (rotated), so that neither profits from
a warm machine or pays for a cold one every time. `--captions-without-class` takes the
class word and digit out of the captions ("a seven" -> "a [hidden]"): the text model
then cannot read the label off the paired caption.

Both arms run in this process with plain `model.fit` (no checkpoints, MLflow or
Airflow: this measures the method, not the platform; in a DAG each round of each
model is its own worker process). Wall time counts building, fitting, sharing
and the final test evaluation. Accuracy is on each model's real test split.

Prints per-run lines, a table per fraction (mean over seeds), and one JSON line
{"bench": "collab", ...}. Goal at 10% labels: the unimodal models gain at least 5
points on average, no model loses more than 1 point, collaborative wall time at
most 1.3x independent.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
TMP = Path(tempfile.mkdtemp(prefix="bench-collab-"))
os.environ["TLIB_VAR_DIR"] = str(TMP)  # caches and stores of this bench only

PRESET = "collaborative_training"
MODELS = ("vision_service", "audio_service", "causal_reasoning_engine", "multimodal_service")
UNIMODAL = MODELS[:3]
# optimizer steps, batch size, learning rate per model. Epochs follow from the steps and
# the number of labeled training rows (`epochs_of`), so that independent training
# converges at every label fraction; both arms train the same epochs.
SCHEDULES: dict[str, tuple[int, int, float]] = {
    "vision_service": (200, 32, 1e-3), "audio_service": (200, 32, 1e-3),
    "causal_reasoning_engine": (300, 32, 1e-3), "multimodal_service": (250, 32, 1e-3),
}
GOAL_GAIN, GOAL_MAX_LOSS, GOAL_TIME_RATIO = 0.05, 0.01, 1.3


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="a demo data folder (default: data/demo "
                        "if present, else one is generated)")
    parser.add_argument("--fractions", default="0.05,0.1,1")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--strategies", help="comma-separated (default: the preset's)")
    parser.add_argument("--threshold", type=float, help="co-training confidence threshold")
    parser.add_argument("--steps-scale", type=float, default=1.0,
                        help="multiply every step budget (smoke runs)")
    parser.add_argument("--threads", type=int, default=2, help="TensorFlow intra-op threads")
    parser.add_argument("--captions-without-class", action="store_true",
                        help="take the class word and digit out of the paired captions")
    return parser.parse_args(argv)


# ---- data ---------------------------------------------------------------------------
def demo_folder(data: Path | None) -> Path:
    if data is not None:
        return data
    if (ROOT / "data" / "demo" / "pairs.jsonl").is_file():
        return ROOT / "data" / "demo"
    from training_lib.demo.folder import make_demo_data

    out = TMP / "demo"
    make_demo_data(out)
    return out


def scan(root: Path) -> list[Any]:
    from training_lib.data.catalog import Catalog
    from training_lib.data.scan.scanner import scan_folder

    catalog = Catalog(TMP / "catalog.sqlite")
    try:
        return scan_folder(root, catalog).records
    finally:
        catalog.close()


def _rank(seed: int, key: str) -> str:
    return hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()


def keep_labels(items: list[tuple[str, str]], fraction: float, seed: int) -> set[str]:
    """Keys to keep labeled: per label, the first max(1, round(f * n)) in seeded hash order."""
    by_label: dict[str, list[str]] = {}
    for key, label in items:
        by_label.setdefault(label, []).append(key)
    kept: set[str] = set()
    for keys in by_label.values():
        keys.sort(key=lambda k: _rank(seed, k))
        kept.update(keys[:max(1, round(fraction * len(keys)))])
    return kept


@dataclasses.dataclass
class Masked:
    root: Path
    records: list[Any]
    truth: dict[str, str]  # view key (content hash / pairs record key) -> true label


def blind_captions(demo: Path, root: Path, records: list[Any]) -> list[Any]:
    """root/captions/ with each paired caption's class word and digit replaced by
    "[hidden]"; the records of the rewritten files (new content, new hash)."""
    import re

    from training_lib.data.loaders.json_records import iter_records
    from training_lib.data.records import record_format
    from training_lib.demo.media import WORDS

    label_of = {p["text"]: str(p["label"]) for p in iter_records(demo / "pairs.jsonl")
                if record_format(p) == "pairs" and p.get("text") and "label" in p}
    out = []
    for r in records:
        label = label_of.get(r.path)
        if label is None or not label.isdigit():
            out.append(r)
            continue
        text = (demo / r.path).read_text()
        pattern = rf"\b({re.escape(WORDS[int(label)])}|{label})\b"
        data = re.sub(pattern, "[hidden]", text, flags=re.IGNORECASE).encode()
        target = root / r.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        out.append(dataclasses.replace(r, content_hash=hashlib.sha256(data).hexdigest(),
                                       size=len(data)))
    return out


def mask(demo: Path, records: list[Any], settings: Any, fraction: float, seed: int,
         hide_class_in_captions: bool = False) -> Masked:
    """A data root whose training labels are thinned to `fraction` (files lose their
    class, pairs records their "label"); validation and test labels stay."""
    from training_lib.data.loaders.json_records import iter_records
    from training_lib.data.records import canonical_key, record_format, split_of

    fractions = (settings.validation_split, settings.test_split)
    root = TMP / "root"
    root.mkdir(exist_ok=True)
    if hide_class_in_captions:  # a real captions/ folder, made before the links below
        records = blind_captions(demo, root, records)
    for child in demo.iterdir():
        link = root / child.name
        if child.name != "pairs.jsonl" and not link.exists():
            link.symlink_to(child.resolve())
    truth = {r.content_hash: r.label for r in records if r.label}
    train = [(r.content_hash, r.label) for r in records
             if r.label and split_of(r.content_hash, fractions) == "train"]
    kept = keep_labels(train, fraction, seed) if fraction < 1 else {k for k, _ in train}
    out = [dataclasses.replace(r, label=None)
           if r.label and split_of(r.content_hash, fractions) == "train"
           and r.content_hash not in kept else r for r in records]
    pairs_rec = next(r for r in out if r.path == "pairs.jsonl")
    pairs = [p for p in iter_records(demo / "pairs.jsonl") if record_format(p) == "pairs"]
    train_pairs = [(canonical_key(p), str(p["label"])) for p in pairs
                   if split_of(canonical_key(p), fractions) == "train"]
    kept_pairs = keep_labels(train_pairs, fraction, seed) if fraction < 1 else None
    lines = []
    for p in pairs:
        key = canonical_key(p)
        if kept_pairs is not None and split_of(key, fractions) == "train" and key not in kept_pairs:
            p = {k: v for k, v in p.items() if k != "label"}
        truth[canonical_key(p)] = str(pairs[len(lines)]["label"])
        lines.append(json.dumps(p))
    data = ("\n".join(lines) + "\n").encode()
    (root / "pairs.jsonl").unlink(missing_ok=True)
    (root / "pairs.jsonl").write_bytes(data)
    new = dataclasses.replace(pairs_rec, content_hash=hashlib.sha256(data).hexdigest(),
                              size=len(data))
    return Masked(root, [new if r is pairs_rec else r for r in out], truth)


def load_datasets(masked: Masked, settings: Any) -> dict[str, Any]:
    from training_lib.data.loaders.registry import LoadRequest, load_dataset
    from training_lib.data.routing import route
    from training_lib.config.model_specs import MODELS as SPECS

    routing = route(masked.records, settings, SPECS, list(MODELS))
    return {m: load_dataset(SPECS[m].loader, LoadRequest(m, routing.manifests[m], masked.root,
                                                         settings)) for m in MODELS}


# ---- the two arms -------------------------------------------------------------------------
def epochs_of(model: str, labeled_rows: int, scale: float = 1.0) -> int:
    """Epochs that give the model about its step budget on its labeled rows."""
    steps, batch, _ = SCHEDULES[model]
    per_epoch = max(1, -(-labeled_rows // batch))
    return max(1, round(steps * scale / per_epoch))


def build(model: str, dataset: Any, seed: int) -> Any:
    import keras

    from training_lib.config.model_specs import MODELS as SPECS
    from training_lib.models.resolve import build_model

    keras.utils.set_random_seed(seed)
    return build_model(SPECS[model], dataset, SCHEDULES[model][2])


def fit(model: Any, name: str, dataset: Any, seed: int, epochs: range) -> None:
    """Fit the given epochs (numbers within the model's whole schedule) in one `fit` call:
    epoch e visits the rows in the engine's order for (seed, e), so a model split into
    rounds sees the same order as one that is not, and tiny datasets do not pay Keras'
    per-epoch overhead hundreds of times. Each epoch is ceil(n / batch) full batches (its
    last batch is filled from the start of its own order), so an epoch takes the
    optimizer steps it takes in the engine and `same_steps` holds in both arms."""
    import keras
    import numpy as np

    from training_lib.data.dataset import take_rows
    from training_lib.training.engine import epoch_permutation

    if not len(epochs):
        return
    keras.utils.set_random_seed(seed * 1000 + epochs[0])
    n, batch = dataset.size("train"), SCHEDULES[name][1]

    def full_batches(order: np.ndarray) -> np.ndarray:
        return np.concatenate([order, np.resize(order, (-len(order)) % batch)])

    order = np.concatenate([full_batches(epoch_permutation(seed, e, n)) for e in epochs])
    model.fit(take_rows(dataset.x["train"], order), take_rows(dataset.y["train"], order),
              batch_size=batch, epochs=1, shuffle=False, verbose=0)


def test_accuracy(model: Any, dataset: Any) -> float:
    from training_lib.training.evaluation import evaluate

    return evaluate("classification", model, dataset)["metric"]


def val_accuracy(model: Any, dataset: Any) -> float:
    import numpy as np

    if not dataset.size("val"):
        return 1.0
    from training_lib.collab.share import infer

    predicted = infer(model, dataset.x["val"])
    return float(np.mean(predicted.argmax(-1) == np.asarray(dataset.y["val"])))


def fresh_session() -> None:
    """Each arm starts from a clean Keras/TensorFlow state: the arm that runs second
    would otherwise pay for the first one's graphs and garbage."""
    import gc

    import keras

    keras.backend.clear_session()
    gc.collect()


@contextlib.contextmanager
def timed(phases: dict[str, float], key: str):
    """Add the block's wall time to phases[key]."""
    t0 = time.perf_counter()
    try:
        yield
    finally:
        phases[key] = round(phases.get(key, 0.0) + time.perf_counter() - t0, 2)


def independent(datasets: dict[str, Any], seed: int, scale: float,
                rounds: int) -> dict[str, Any]:
    """Each model alone on its labeled rows. Its epochs are fitted in the same chunks as
    the collaborative rounds (one model, one optimizer, no recompile): `fit` batches run
    across epoch boundaries within a call, so equal chunks give a model that receives no
    knowledge exactly the same batches in both arms."""
    started = time.perf_counter()
    out: dict[str, Any] = {"models": {}}
    phases: dict[str, float] = {}
    for name, ds in datasets.items():
        t0 = time.perf_counter()
        with timed(phases, "build"):
            model = build(name, ds, seed)
        first = 0
        for r, chunk in enumerate(rounds_epochs(epochs_of(name, ds.size("train"), scale),
                                                rounds), start=1):
            with timed(phases, f"fit_{r}"):
                fit(model, name, ds, seed, range(first, first + chunk))
            first += chunk
        with timed(phases, "test"):
            accuracy = test_accuracy(model, ds)
        out["models"][name] = {"test": accuracy, "train_rows": ds.size("train"),
                               "seconds": round(time.perf_counter() - t0, 2)}
    out["seconds"] = time.perf_counter() - started
    out["phases"] = phases
    return out


def collaborative(datasets: dict[str, Any], masked: Masked, settings: Any, seed: int,
                  rounds: int, scale: float) -> dict[str, Any]:
    from training_lib.collab.consume import apply_knowledge, epochs_for
    from training_lib.training.optimizer_state import restore_compile
    from training_lib.collab.pairs import read_pairs, view_of
    from training_lib.collab.share import Participant, collect_views, compute_knowledge
    from training_lib.config.model_specs import MODELS as SPECS

    started = time.perf_counter()
    phases: dict[str, float] = {}
    with timed(phases, "views"):
        views = collect_views(read_pairs(masked.records, masked.root, settings), masked.root,
                              settings)
    with timed(phases, "build"):
        models = {name: build(name, ds, seed) for name, ds in datasets.items()}
    shared: Any = None
    log: dict[str, Any] = {"rounds": []}
    share_s = 0.0
    for r in range(1, rounds + 1):
        per_round: dict[str, Any] = {}
        for name, ds in datasets.items():
            model = models[name]
            train_on = ds
            if shared is not None:
                with timed(phases, "apply"):
                    restore_compile(model)
                    train_on, stats = apply_knowledge(model, ds, shared.students.get(name),
                                                      shared.payloads,
                                                      settings.collaboration)
                per_round[name] = {k: v for k, v in stats.items() if k != "shared_text_layers"}
                per_round[name]["pseudo_label_accuracy"] = pseudo_accuracy(
                    shared.students.get(name), ds, train_on, masked.truth)
            split = rounds_epochs(epochs_of(name, ds.size("train"), scale), rounds)
            first = sum(split[:r - 1])
            epochs = epochs_for(split[r - 1], ds.size("train"), train_on.size("train"),
                                SCHEDULES[name][1], settings.collaboration)
            with timed(phases, f"fit_{r}"):
                fit(model, name, train_on, seed, range(first, first + epochs))
        if r < rounds:
            t0 = time.perf_counter()
            participants = [Participant(name, models[name], list(ds.classes),
                                        view_of(SPECS[name].loader), ds.size("train"),
                                        max(val_accuracy(models[name], ds), 1e-3))
                            for name, ds in datasets.items()]
            for name in datasets:
                restore_compile(models[name])
            shared = compute_knowledge(participants, views, settings)
            share_s += time.perf_counter() - t0
            log["rounds"].append({"round": r, "share": shared.summary, "consumed": per_round})
        elif per_round:
            log["rounds"].append({"round": r, "consumed": per_round})
    out: dict[str, Any] = {"models": {}}
    for name, ds in datasets.items():
        with timed(phases, "test"):
            restore_compile(models[name])
            out["models"][name] = {"test": test_accuracy(models[name], ds)}
    phases["share"] = round(share_s, 2)
    out.update({"seconds": time.perf_counter() - started, "share_seconds": round(share_s, 2),
                "phases": phases, "log": log})
    return out


def own_knowledge(name: str, model: Any, ds: Any, views: Any, settings: Any) -> Any:
    """Plain self-training: the model's own confident predictions on its view of the paired
    items in its training split (the pool the collaborative arm's peers label), as
    co-training targets. None when the model has no view of the items."""
    import numpy as np

    from training_lib.collab.knowledge import StudentKnowledge
    from training_lib.collab.losses import one_hot
    from training_lib.collab.pairs import view_key, view_of, view_split
    from training_lib.collab.share import Participant, predict_views
    from training_lib.collab.strategies.distillation import soften
    from training_lib.config.model_specs import MODELS as SPECS

    me = Participant(name, model, list(ds.classes), view_of(SPECS[name].loader),
                     ds.size("train"))
    predicted = predict_views(me, views) if me.view else None
    if predicted is None:
        return None
    logits, seen = predicted
    rows = np.flatnonzero([seen[i] and view_split(item, me.view, settings) == "train"
                           for i, item in enumerate(views.items)])
    probs = soften(logits[rows], 1.0)
    picked = rows[probs.max(axis=1) >= settings.collaboration.confidence_threshold]
    x_all, _ = views.inputs(me.view, model)
    x = {k: v[picked] for k, v in x_all.items()} if isinstance(x_all, dict) else x_all[picked]
    n, n_cls = len(picked), len(ds.classes)
    hard = one_hot(soften(logits[picked], 1.0).argmax(axis=1), n_cls).astype(np.float32)
    return StudentKnowledge(name, list(ds.classes), x,
                            np.array([view_key(views.items[i], me.view) for i in picked],
                                     dtype=str),
                            hard, np.ones(n, bool), np.zeros((n, n_cls), np.float32),
                            np.ones(n, np.int32))


def self_training(datasets: dict[str, Any], masked: Masked, settings: Any, seed: int,
                  rounds: int, scale: float) -> dict[str, Any]:
    """Each model alone, in the collaborative arm's rounds, learning from its own
    pseudo-labels on the same unlabeled pool (consumed as co-training targets)."""
    from training_lib.collab.consume import apply_knowledge, epochs_for
    from training_lib.training.optimizer_state import restore_compile
    from training_lib.collab.pairs import read_pairs
    from training_lib.collab.share import collect_views

    started = time.perf_counter()
    phases: dict[str, float] = {}
    cfg = settings.collaboration.model_copy(update={"strategies": ("cotraining",)})
    with timed(phases, "views"):
        views = collect_views(read_pairs(masked.records, masked.root, settings), masked.root,
                              settings)
    out: dict[str, Any] = {"models": {}, "log": {}}
    for name, ds in datasets.items():
        with timed(phases, "build"):
            model = build(name, ds, seed)
        split = rounds_epochs(epochs_of(name, ds.size("train"), scale), rounds)
        for r in range(1, rounds + 1):
            train_on = ds
            if r > 1:
                with timed(phases, "apply"):
                    restore_compile(model)
                    own = own_knowledge(name, model, ds, views, settings)
                    train_on, stats = apply_knowledge(model, ds, own, {}, cfg)
                out["log"][name] = {"rows": ds.size("train"), "confident": len(own or ()),
                                    "with_pseudo": train_on.size("train"),
                                    "targets": stats.get("targets"),
                                    "pseudo_label_accuracy": pseudo_accuracy(
                                        own, ds, train_on, masked.truth)}
            epochs = epochs_for(split[r - 1], ds.size("train"), train_on.size("train"),
                                SCHEDULES[name][1], cfg)
            with timed(phases, f"fit_{r}"):
                fit(model, name, train_on, seed, range(sum(split[:r - 1]),
                                                       sum(split[:r - 1]) + epochs))
        with timed(phases, "test"):
            restore_compile(model)
            out["models"][name] = {"test": test_accuracy(model, ds)}
    out.update({"seconds": time.perf_counter() - started, "phases": phases})
    return out


def rounds_epochs(total: int, rounds: int) -> list[int]:
    """`total` epochs over `rounds` rounds, as evenly as possible, earlier rounds first."""
    base, extra = divmod(total, rounds)
    return [base + (1 if i < extra else 0) for i in range(rounds)]


def pseudo_accuracy(student: Any, ds: Any, train_on: Any, truth: dict[str, str]) -> float | None:
    """Share of the rows a student got pseudo-labels for whose label is right."""
    import numpy as np

    if student is None or train_on is ds or not student.confident.any():
        return None
    names = np.asarray(student.classes)
    right = [names[student.cotrain[i].argmax()] == truth.get(str(student.keys[i]))
             for i in np.flatnonzero(student.confident)]
    return round(float(np.mean(right)), 4)


def brief(share: dict[str, Any]) -> dict[str, Any]:
    """The share summary's essentials: alignment per model, rows per student."""
    models = share.get("label_space", {}).get("models", {})
    return {"aligned": {m: a["method"] if a["aligned"] else a.get("reason", "no")
                        for m, a in models.items()},
            "students": {m: {k: v for k, v in s.items() if k in ("rows", "confident",
                                                               "mean_confidence", "reason")}
                         for m, s in share.get("students", {}).items()}}


# ---- report -----------------------------------------------------------------------------
def summarize(runs: list[dict[str, Any]], fractions: list[float]) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for f in fractions:
        rows = [r for r in runs if r["fraction"] == f]
        entry: dict[str, Any] = {"models": {}}
        for m in MODELS:
            ind = [r["independent"]["models"][m]["test"] for r in rows]
            own = [r["self_training"]["models"][m]["test"] for r in rows]
            col = [r["collaborative"]["models"][m]["test"] for r in rows]
            entry["models"][m] = {
                "independent": round(statistics.mean(ind), 4),
                "self_training": round(statistics.mean(own), 4),
                "collaborative": round(statistics.mean(col), 4),
                "gain": round(statistics.mean(col) - statistics.mean(ind), 4),
                "gain_sd": round(statistics.stdev([c - i for c, i in zip(col, ind)]), 4)
                if len(rows) > 1 else None,
                "gain_over_self_training": round(statistics.mean(col) - statistics.mean(own),
                                                 4)}
        ind_s = statistics.mean(r["independent"]["seconds"] for r in rows)
        own_s = statistics.mean(r["self_training"]["seconds"] for r in rows)
        col_s = statistics.mean(r["collaborative"]["seconds"] for r in rows)
        entry.update({"independent_s": round(ind_s, 1), "collaborative_s": round(col_s, 1),
                      "self_training_s": round(own_s, 1),
                      "time_ratio": round(col_s / ind_s, 3),
                      "unimodal_mean_gain": round(statistics.mean(
                          entry["models"][m]["gain"] for m in UNIMODAL), 4),
                      "worst_gain": round(min(e["gain"] for e in entry["models"].values()), 4)})
        table[str(f)] = entry
    return table


def print_table(table: dict[str, Any], seeds: int) -> None:
    print(f"| labels | model | independent | self-training | collaborative | gain (sd over "
          f"{seeds} seeds) | gain over self-training |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for f, entry in table.items():
        for m, e in entry["models"].items():
            sd = f" ({e['gain_sd'] * 100:.1f})" if e["gain_sd"] is not None else ""
            print(f"| {float(f):.0%} | {m} | {e['independent']:.3f} | {e['self_training']:.3f} "
                  f"| {e['collaborative']:.3f} | {e['gain'] * 100:+.1f}{sd} "
                  f"| {e['gain_over_self_training'] * 100:+.1f} |")
        print(f"| {float(f):.0%} | wall time (s) | {entry['independent_s']:.1f} | "
              f"{entry['self_training_s']:.1f} | {entry['collaborative_s']:.1f} | "
              f"x{entry['time_ratio']:.2f} | |")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from training_lib.config.presets import load_preset

    started = time.perf_counter()
    settings = load_preset(PRESET).settings
    update: dict[str, Any] = {}
    if args.strategies is not None:
        update["strategies"] = tuple(s for s in args.strategies.split(",") if s)
    if args.threshold is not None:
        update["confidence_threshold"] = args.threshold
    if update:
        settings = settings.model_copy(update={
            "collaboration": settings.collaboration.model_copy(update=update)})
    fractions = [float(f) for f in args.fractions.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    demo = demo_folder(args.data)
    records = scan(demo)
    print(f"data {demo}: {len(records)} files; strategies {list(settings.collaboration.strategies)}"
          f", threshold {settings.collaboration.confidence_threshold}, rounds {args.rounds}",
          flush=True)
    runs = []
    arms = {
        "independent": lambda ds, masked, seed: independent(ds, seed, args.steps_scale,
                                                            args.rounds),
        "self_training": lambda ds, masked, seed: self_training(
            ds, masked, settings, seed, args.rounds, args.steps_scale),
        "collaborative": lambda ds, masked, seed: collaborative(
            ds, masked, settings, seed, args.rounds, args.steps_scale),
    }
    for f in fractions:
        for i, seed in enumerate(seeds):
            masked = mask(demo, records, settings, f, seed, args.captions_without_class)
            datasets = load_datasets(masked, settings)
            order = list(arms)[i % len(arms):] + list(arms)[:i % len(arms)]  # rotate per seed
            done = {}
            for arm in order:
                fresh_session()
                done[arm] = arms[arm](datasets, masked, seed)
            ind, own, col = done["independent"], done["self_training"], done["collaborative"]
            run = {"fraction": f, "seed": seed, "order": order, "independent": ind,
                   "self_training": own, "collaborative": col}
            runs.append(run)
            print(json.dumps({"fraction": f, "seed": seed,
                              "epochs": {m: epochs_of(m, d.size("train"), args.steps_scale)
                                         for m, d in datasets.items()},
                              "train_rows": {m: d.size("train") for m, d in datasets.items()},
                              "order": order,
                              "independent": {m: round(v["test"], 4)
                                              for m, v in ind["models"].items()},
                              "self_training": {m: round(v["test"], 4)
                                                for m, v in own["models"].items()},
                              "self_training_pseudo": own["log"],
                              "collaborative": {m: round(v["test"], 4)
                                                for m, v in col["models"].items()},
                              "seconds": [round(ind["seconds"], 1), round(own["seconds"], 1),
                                          round(col["seconds"], 1)],
                              "share_seconds": col["share_seconds"],
                              "phases": [ind["phases"], own["phases"], col["phases"]],
                              "shared": [brief(r.get("share")) for r in col["log"]["rounds"]
                                         if r.get("share")],
                              "consumed": col["log"]["rounds"][-1].get("consumed")},
                             default=str), flush=True)
    table = summarize(runs, fractions)
    print()
    print_table(table, len(seeds))
    at10 = table.get("0.1")
    goals = None if at10 is None else {
        "unimodal_mean_gain": at10["unimodal_mean_gain"],
        "gain_goal_met": at10["unimodal_mean_gain"] >= GOAL_GAIN,
        "worst_gain": at10["worst_gain"], "no_loss_goal_met": at10["worst_gain"] >= -GOAL_MAX_LOSS,
        "time_ratio": at10["time_ratio"], "time_goal_met": at10["time_ratio"] <= GOAL_TIME_RATIO}
    print(json.dumps({"bench": "collab", "strategies": list(settings.collaboration.strategies),
                      "confidence_threshold": settings.collaboration.confidence_threshold,
                      "rounds": args.rounds, "seeds": seeds,
                      "captions_without_class": args.captions_without_class,
                      "schedules": {m: {"steps": v[0], "batch_size": v[1], "learning_rate": v[2]}
                                    for m, v in SCHEDULES.items()},
                      "threads": args.threads, "cpu": platform.processor() or platform.machine(),
                      "table": table, "goals_at_10pct": goals,
                      "total_s": round(time.perf_counter() - started, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
