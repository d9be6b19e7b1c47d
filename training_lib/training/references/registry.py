"""The reference registry: a loader name -> how to build its classical reference.

A reference is built from the Dataset (vocabularies, bottleneck widths) and the task:
its `inputs` turn one split into what its scikit-learn estimator takes (a matrix, a
list of strings), and its `estimator` is unfitted. Classifiers have `predict_proba`
(the label-issue search cross-validates them). `run_reference` fits it on the train
split and scores it on the test split with `training.evaluation.score`, so the
reference and the Keras model are judged by the same code.
"""
from __future__ import annotations

import importlib
import logging
import pkgutil
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from training_lib.data.dataset import Dataset
from training_lib.training.evaluation import score

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reference:
    description: str  # short, for tables: "TF-IDF word+char n-grams, logistic regression"
    inputs: Callable[[Dataset, str], Any]  # split -> the estimator's input rows
    estimator: Any  # an unfitted scikit-learn estimator (fit/predict[/predict_proba])


Factory = Callable[[Dataset, str], "Reference | None"]

REFERENCES: dict[str, Factory] = {}  # loader name -> factory(dataset, task)
_builtins_imported = False


def register_reference(*loaders: str) -> Callable[[Factory], Factory]:
    """Decorator: `fn(dataset, task) -> Reference | None` is the reference of every
    model whose spec names one of `loaders` (None: no reference fits this dataset)."""
    def register(fn: Factory) -> Factory:
        for loader in loaders:
            if loader in REFERENCES:
                raise ValueError(f"a reference for loader {loader!r} is already registered")
            REFERENCES[loader] = fn
        return fn
    return register


def references() -> dict[str, Factory]:
    """Every registered reference by loader name, the built-in ones included."""
    global _builtins_imported
    if not _builtins_imported:
        package = __name__.rpartition(".")[0]
        for module in pkgutil.iter_modules(importlib.import_module(package).__path__):
            importlib.import_module(f"{package}.{module.name}")
        _builtins_imported = True
    return REFERENCES


def build_reference(loader: str, dataset: Dataset, task: str) -> Reference | None:
    factory = references().get(loader)
    return factory(dataset, task) if factory is not None else None


def run_reference(loader: str, dataset: Dataset, task: str,
                  threads: int = 1) -> dict[str, Any] | None:
    """{"metric", "model", "seconds"} of the loader's reference on the test split; None
    when no reference is registered for the loader or none fits the dataset.

    BLAS and OpenMP use `threads` threads (the model's resource plan): left to their
    default of one per core they oversubscribe a shared machine, 100x slower here.
    """
    from threadpoolctl import threadpool_limits

    task = dataset.info.get("task") or task
    start = time.perf_counter()
    reference = build_reference(loader, dataset, task)
    if reference is None:
        return None
    estimator = reference.estimator
    with threadpool_limits(limits=max(1, threads)):
        estimator.fit(reference.inputs(dataset, "train"), target(dataset, "train", task))
        predicted = estimator.predict(reference.inputs(dataset, "test"))
    scores = score(task, as_scores(task, predicted, dataset), dataset.y["test"],
                   dataset.y["train"])
    chosen = getattr(estimator, "chosen_", None)  # a reference that picks among candidates
    return {"metric": scores["metric"],
            "model": reference.description + (f": {chosen}" if chosen else ""),
            "seconds": time.perf_counter() - start}


def target(dataset: Dataset, split: str, task: str) -> np.ndarray:
    """What the estimator is fitted to: class ids, values (1-D for one output), rows."""
    y = np.asarray(dataset.y[split])
    if task == "regression" and y.ndim == 2 and y.shape[1] == 1:
        return y.ravel()
    return y


def as_scores(task: str, predicted: Any, dataset: Dataset) -> np.ndarray:
    """Predictions in the shape `evaluation.score` reads: one-hot rows for class ids
    (classification, and each position of a seq2seq answer), values otherwise."""
    predicted = np.asarray(predicted)
    if task == "classification":
        return np.eye(len(dataset.classes or []) or int(predicted.max()) + 1)[predicted]
    if task == "seq2seq":
        return np.eye(int(dataset.info.get("vocab_size") or predicted.max() + 1))[predicted]
    return predicted.reshape(np.shape(dataset.y["test"]))
