"""Likely mislabeled training files, found with cleanlab and the model's reference.

The reference classifier (registry.py) is cross-validated on the train split, so every
training row gets predicted class probabilities from a model that never saw it;
`cleanlab.filter.find_label_issues` flags the rows whose given label those
probabilities doubt most. A flagged row is reported with its sample key and file
path(s), the given label, the suggested one (the most probable class) and the
suggestion's probability, most doubtful first.

    found = find_label_issues("images", dataset, "classification", paths={key: path})
"""
from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from training_lib.data.dataset import Dataset
from training_lib.training.references.registry import build_reference

log = logging.getLogger(__name__)

FOLDS = 5
METHOD = "cleanlab find_label_issues (prune_by_noise_rate), {folds}-fold out-of-sample " \
         "probabilities of the reference: {reference}"


def find_label_issues(loader: str, dataset: Dataset, task: str, *,
                      paths: dict[str, list[str]] | None = None, threads: int = 1,
                      folds: int = FOLDS) -> dict[str, Any] | None:
    """The flagged training rows (see the module doc); None when the model is not a
    classifier, has no reference with probabilities, or too few rows per class to
    cross-validate."""
    from threadpoolctl import threadpool_limits

    task = dataset.info.get("task") or task
    if task != "classification" or not dataset.classes:
        return None
    reference = build_reference(loader, dataset, task)
    if reference is None or not hasattr(reference.estimator, "predict_proba"):
        return None
    labels = np.asarray(dataset.y["train"]).astype(int)
    present, dense = np.unique(labels, return_inverse=True)  # classes seen in train only
    folds = min(folds, int(np.bincount(dense).min()))
    if folds < 2 or len(present) < 2:
        return None
    start = time.perf_counter()
    with threadpool_limits(limits=max(1, threads)):
        probabilities = out_of_sample_probabilities(reference, dataset, dense, folds)
    flagged = _cleanlab_issues(dense, probabilities)
    keys = dataset.keys.get("train") or []
    issues = []
    for i in flagged:
        suggested = int(probabilities[i].argmax())
        key = keys[i] if i < len(keys) else None
        issues.append({
            "row": int(i), "key": key, "files": (paths or {}).get(key, []) if key else [],
            "given": dataset.classes[present[dense[i]]],
            "suggested": dataset.classes[present[suggested]],
            "confidence": round(float(probabilities[i, suggested]), 4),
            "given_probability": round(float(probabilities[i, dense[i]]), 4)})
    return {"method": METHOD.format(folds=folds, reference=reference.description),
            "n_train": int(len(labels)), "n_flagged": len(issues),
            "seconds": round(time.perf_counter() - start, 3), "issues": issues}


def out_of_sample_probabilities(reference: Any, dataset: Dataset, labels: np.ndarray,
                                folds: int) -> np.ndarray:
    """(n_train, classes) probabilities, each row's from the fold that held it out."""
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    return cross_val_predict(clone(reference.estimator), reference.inputs(dataset, "train"),
                             labels, cv=cv, method="predict_proba")


def _cleanlab_issues(labels: np.ndarray, probabilities: np.ndarray) -> list[int]:
    from cleanlab.filter import find_label_issues as cleanlab_find

    ranked = cleanlab_find(labels=labels, pred_probs=probabilities,
                           return_indices_ranked_by="self_confidence", n_jobs=1)
    return [int(i) for i in ranked]
