"""Our text, code and logic models against a scikit-learn reference on the same split.

    python bench/model_family_vs_reference.py --data DIR [--models a,b] [--threads N]
        [--label demo|real corpus name] [--epochs N]

Steps per model: scan DIR into a temporary catalog -> route with the
`comprehensive_training` preset's settings -> the model's own loader (as the worker
calls it) -> our builder, trained with the engine's schedule (epoch budget and early
stopping on val_loss, best epoch restored, as `ResumableFit` does) -> test accuracy.
The reference sees exactly the rows our model sees (the loader's ids decoded back to
text, so the same truncation) and the same train/val/test split:

- text, code: TF-IDF of word 1-2-grams + char 1-5-grams, LogisticRegression, C picked
  on the validation split from {1, 10, 100};
- logic: counts of token 1-3-grams, RandomForest and ExtraTrees (500 trees), the better
  one on the validation split.

Prints one row per model and ends with one JSON line {"bench": "model_family_vs_reference"}.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
TMP = Path(tempfile.mkdtemp(prefix="bench-family-"))
os.environ["TLIB_VAR_DIR"] = str(TMP)

import numpy as np  # noqa: E402

PRESET = "comprehensive_training"
SEED = 1234
MODELS = ("causal_reasoning_engine", "code_model", "logic_model")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a folder the scanner reads")
    parser.add_argument("--label", default="", help="the corpus's name in the output")
    parser.add_argument("--models", help=f"comma-separated (default: {','.join(MODELS)})")
    parser.add_argument("--threads", type=int, default=2, help="TensorFlow intra-op threads")
    parser.add_argument("--epochs", type=int, help="epoch budget (default: the model spec's)")
    parser.add_argument("--lr", type=float, help="learning rate (default: the preset's)")
    return parser.parse_args(argv)


def load(root: Path, names: list[str]) -> dict[str, Any]:
    """name -> the Dataset its loader makes from `root` (or the reason it has none)."""
    from training_lib.config.model_specs import MODELS as SPECS
    from training_lib.config.presets import load_preset
    from training_lib.data.catalog import Catalog
    from training_lib.data.labels import label_options
    from training_lib.data.loaders.registry import LoadRequest, load_dataset
    from training_lib.data.routing import route
    from training_lib.data.scan.scanner import scan_folder
    from training_lib.errors import NoDataForModel

    catalog = Catalog(TMP / "catalog.sqlite")
    try:
        report = scan_folder(root, catalog)
    finally:
        catalog.close()
    settings = load_preset(PRESET).settings
    routing = route(report.records, settings, SPECS, names)
    out: dict[str, Any] = {}
    for name in names:
        if name not in routing.manifests:
            out[name] = routing.left_out.get(name, "no data routed")
            continue
        req = LoadRequest(name, routing.manifests[name], root, settings,
                          label_options(settings, name))
        try:
            out[name] = load_dataset(SPECS[name].loader, req)
        except NoDataForModel as e:
            out[name] = str(e)
            continue
        if SPECS[name].loader == "propositions":
            PROPOSITIONS[name] = proposition_texts(req, out[name])
    return out


PROPOSITIONS: dict[str, dict[str, list[str]]] = {}  # model -> split -> proposition texts


def proposition_texts(req: Any, dataset: Any) -> dict[str, list[str]]:
    """The text of each row of each split, found again by the row's sample key."""
    from training_lib.data.loaders.json_records import read_records
    from training_lib.data.records import canonical_key

    by_key = {canonical_key(r): str(r["proposition"])
              for _, r in read_records(req, "proposition").items}
    return {split: [by_key[k] for k in dataset.keys[split]] for split in dataset.keys}


# ---- what the reference reads: the loader's rows decoded back -----------------------------
def byte_texts(ids: np.ndarray) -> list[str]:
    return [bytes(int(i) - 1 for i in row if i > 0).decode("utf-8", "replace") for row in ids]


def as_texts(dataset: Any, split: str) -> list[str]:
    x = dataset.x[split]
    if dataset.info.get("vocab_size") == 257:  # byte ids (texts, code)
        return byte_texts(x)
    return PROPOSITIONS[dataset.model][split]


def reference(name: str, dataset: Any) -> dict[str, Any]:
    from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    from training_lib.data.loaders.sequences import proposition_tokens

    start = time.perf_counter()
    texts = {s: as_texts(dataset, s) for s in ("train", "val", "test")}
    y = {s: np.asarray(dataset.y[s]) for s in ("train", "val", "test")}
    if name == "logic_model":
        def make(kind: str) -> Any:
            forest = (RandomForestClassifier if kind == "random_forest" else ExtraTreesClassifier)
            return make_pipeline(
                CountVectorizer(tokenizer=proposition_tokens, token_pattern=None,
                                ngram_range=(1, 3),
                                lowercase=False),
                forest(n_estimators=500, random_state=SEED, n_jobs=1))
        options = {"random_forest": "random_forest", "extra_trees": "extra_trees"}
        label = "token 1-3-gram counts + {}"
    else:
        def make(c: float) -> Any:
            features = make_union(
                TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True,
                                min_df=1),
                TfidfVectorizer(analyzer="char", ngram_range=(1, 5), sublinear_tf=True,
                                min_df=2))
            return make_pipeline(features, LogisticRegression(C=c, max_iter=3000))
        options = {f"C={c:g}": c for c in (1.0, 10.0, 100.0)}
        label = "TF-IDF word 1-2 + char 1-5 grams + LogisticRegression ({})"
    best = None
    for key, option in options.items():
        pipe = make(option).fit(texts["train"], y["train"])
        val = float(np.mean(pipe.predict(texts["val"]) == y["val"])) if len(y["val"]) else 0.0
        if best is None or val > best[0]:
            best = (val, key, pipe)
    val, key, pipe = best
    test = float(np.mean(pipe.predict(texts["test"]) == y["test"]))
    return {"reference": label.format(key), "reference_val": round(val, 4),
            "reference_test": round(test, 4), "reference_s": round(time.perf_counter() - start, 1)}


def ours(name: str, dataset: Any, epochs: int | None, lr: float | None) -> dict[str, Any]:
    """Our model trained the way the worker trains it (engine, early stopping, best epoch)."""
    import keras

    from training_lib.config.model_specs import MODELS as SPECS
    from training_lib.models.resolve import build_model
    from training_lib.training.checkpoints import CheckpointStore
    from training_lib.training.engine import FitPlan, ResumableFit
    from training_lib.training.evaluation import evaluate

    spec = SPECS[name]
    start = time.perf_counter()
    keras.utils.set_random_seed(SEED)
    from training_lib.config.presets import load_preset

    lr = lr or load_preset(PRESET).settings.for_model(name, "learning_rate")
    model = build_model(spec, dataset, lr)
    budget = epochs or spec.max_epochs or 30
    plan = FitPlan(epochs=budget, batch_size=32, seed=SEED, patience=spec.patience,
                   log_every_steps=10_000)
    store = CheckpointStore(TMP / "ckpt" / f"{name}-{time.time_ns()}", keep_last=1,
                            asynchronous=False)
    result = ResumableFit(model, dataset, plan, store).run()
    store.close()
    scores = evaluate(spec.task, model, dataset)
    return {"ours_test": round(scores["metric"], 4), "baseline": round(scores["baseline"], 4),
            "epoch_budget": budget, "learning_rate": lr, "stopped_at_epoch": result.stopped_at_epoch,
            "best_epoch": result.best_epoch, "stop_reason": result.stop_reason,
            "parameters": int(model.count_params()),
            "ours_s": round(time.perf_counter() - start, 1)}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if os.environ["KERAS_BACKEND"] == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    names = args.models.split(",") if args.models else list(MODELS)
    started = time.perf_counter()
    datasets = load(args.data, names)
    rows = []
    for name in names:
        dataset = datasets[name]
        row: dict[str, Any] = {"model": name, "corpus": args.label or str(args.data)}
        if isinstance(dataset, str):
            rows.append({**row, "skipped": dataset})
            print(json.dumps(rows[-1]), flush=True)
            continue
        row.update({"classes": len(dataset.classes or []),
                    "train/val/test": f"{dataset.size('train')}/{dataset.size('val')}/"
                                      f"{dataset.size('test')}"})
        row.update(reference(name, dataset))
        row.update(ours(name, dataset, args.epochs, args.lr))
        row["gap"] = round(row["ours_test"] - row["reference_test"], 4)
        rows.append(row)
        print(json.dumps(row), flush=True)
    print("\n| corpus | model | classes | train/val/test | ours | reference | gap | stopped |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for r in rows:
        if "skipped" in r:
            print(f"| {r['corpus']} | {r['model']} | skipped: {r['skipped']} | | | | | |")
            continue
        print(f"| {r['corpus']} | {r['model']} | {r['classes']} | {r['train/val/test']} | "
              f"{r['ours_test']:.3f} | {r['reference_test']:.3f} | {r['gap']:+.3f} | "
              f"epoch {r['stopped_at_epoch']} of {r['epoch_budget']} (best {r['best_epoch']}) |")
    scored = [r for r in rows if "skipped" not in r]
    print(json.dumps({"bench": "model_family_vs_reference", "corpus": args.label or str(args.data),
                      "backend": os.environ["KERAS_BACKEND"], "threads": args.threads,
                      "rows": rows, "all_reach_reference": bool(scored)
                      and all(r["gap"] >= 0 for r in scored),
                      "total_s": round(time.perf_counter() - started, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
