"""Label spaces: which class of one model is which class of another.

Co-training and distillation need every participant's classes expressed in one
space: the labels of the pairs manifest (`"3"`). A model whose class names are
those labels aligns by name (vision's `"3"`); another (audio's `"three"`) aligns by
what it predicts: over the paired items, the co-occurrence of its classes with the
name-aligned models' predictions is matched one to one (Hungarian), and the match
is kept only when it explains most of that co-occurrence. Such a match renames
classes one to one, so the model must have as many classes as there are labels: a
text classifier of six fortune categories reading digit captions stays out.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

MIN_AGREEMENT = 0.5  # share of paired items a prediction-based match must explain


@dataclass(frozen=True)
class Alignment:
    """One model's classes mapped into the shared label space."""

    model: str
    matrix: np.ndarray | None  # (model classes, shared labels) 0/1; None: not aligned
    method: str  # "names" | "predictions" | "none"
    mapping: dict[str, str] = field(default_factory=dict)  # model class -> shared label
    agreement: float | None = None
    reason: str = ""

    @property
    def aligned(self) -> bool:
        return self.matrix is not None


def by_names(model: str, classes: list[str], labels: list[str]) -> Alignment | None:
    """Identity on shared names, if they cover at least half of `labels`."""
    common = [c for c in classes if c in labels]
    if not labels or len(common) * 2 < len(labels):
        return None
    matrix = np.zeros((len(classes), len(labels)), np.float32)
    for c in common:
        matrix[classes.index(c), labels.index(c)] = 1.0
    return Alignment(model, matrix, "names", {c: c for c in common}, 1.0)


def by_predictions(model: str, classes: list[str], labels: list[str], probs: np.ndarray,
                   reference: np.ndarray, min_agreement: float = MIN_AGREEMENT) -> Alignment:
    """Match classes to labels from co-occurring predictions on the same items.

    `probs` (n, classes) are the model's probabilities, `reference` (n, labels) the
    name-aligned models' mean on the same n items. Counts of (its top class, the
    reference's top label) are matched one to one; `agreement` is the share of items
    the match explains.
    """
    from scipy.optimize import linear_sum_assignment

    if len(classes) != len(labels):  # a match by predictions renames classes one to one
        return Alignment(model, None, "none", reason=f"{len(classes)} classes, the pairs have "
                         f"{len(labels)} labels and none of its class names")
    if len(probs) == 0:
        return Alignment(model, None, "none", reason="no paired item seen by it and a reference")
    counts = np.zeros((len(classes), len(labels)), np.int64)
    np.add.at(counts, (probs.argmax(axis=1), reference.argmax(axis=1)), 1)
    rows, cols = linear_sum_assignment(-counts)
    agreement = float(counts[rows, cols].sum() / len(probs))
    if agreement < min_agreement:
        return Alignment(model, None, "none", agreement=agreement,
                         reason=f"its predictions match the shared labels on {agreement:.0%} of "
                                f"paired items (needs {min_agreement:.0%})")
    matrix = np.zeros((len(classes), len(labels)), np.float32)
    mapping = {}
    for r, c in zip(rows, cols):
        if counts[r, c] > 0 and counts[r].argmax() == c:  # its best match is its assignment
            matrix[r, c] = 1.0
            mapping[classes[r]] = labels[c]
    return Alignment(model, matrix, "predictions", mapping, agreement)


def align_all(classes: dict[str, list[str]], labels: list[str],
              probs: dict[str, np.ndarray], seen: dict[str, np.ndarray],
              min_agreement: float = MIN_AGREEMENT) -> dict[str, Alignment]:
    """Alignments of every model; `probs[m]` (n_items, classes) where `seen[m]` is true."""
    out: dict[str, Alignment] = {}
    for model, names in classes.items():
        named = by_names(model, names, labels)
        if named is not None:
            out[model] = named
    if not out:
        return {m: Alignment(m, None, "none", reason="no model's classes are the pairs' labels")
                for m in classes}
    n = len(next(iter(seen.values()))) if seen else 0
    reference = np.zeros((n, len(labels)), np.float64)
    count = np.zeros(n)
    for model, a in out.items():
        if model in probs:
            reference += to_shared(probs[model], a.matrix) * seen[model][:, None]
            count += seen[model]
    reference = reference / np.maximum(count, 1)[:, None]
    for model, names in classes.items():
        if model in out:
            continue
        if model not in probs:
            out[model] = Alignment(model, None, "none", reason="it reads no view of the pairs")
            continue
        mask = seen[model] & (count > 0)
        out[model] = by_predictions(model, names, labels, probs[model][mask], reference[mask],
                                    min_agreement)
    return out


def to_shared(probs: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """(n, model classes) probabilities -> (n, shared labels), renormalized per row."""
    return _renormalize(probs @ matrix)


def from_shared(probs: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """(n, shared labels) probabilities -> (n, model classes), renormalized per row."""
    return _renormalize(probs @ matrix.T)


def _renormalize(p: np.ndarray) -> np.ndarray:
    total = p.sum(axis=1, keepdims=True)
    return np.where(total > 0, p / np.where(total > 0, total, 1), 0).astype(np.float32)


def describe(a: Alignment) -> dict[str, Any]:
    return {"aligned": a.aligned, "method": a.method, "classes_mapped": len(a.mapping),
            "agreement": None if a.agreement is None else round(a.agreement, 4),
            **({"mapping": a.mapping} if a.method == "predictions" else {}),
            **({"reason": a.reason} if a.reason else {})}
