"""Cross-modal co-training: the other views' confident predictions as soft targets.

For one student and n paired items, every teacher t gave probabilities p_t (n, L)
in the shared label space from its own view of each item (`seen_t` says where it
had one). The target of item i is the weighted mean of the teachers' p_t(i); it is
kept when that mean's top probability reaches the confidence threshold. The
student's own prediction never counts: an item teaches a view only through the
other views.

    >>> import numpy as np
    >>> p = np.array([[0.9, 0.1], [0.5, 0.5]])
    >>> targets, confident = cotraining_targets([p], [np.array([True, True])], [1.0], 0.8)
    >>> confident.tolist(), targets[0].tolist()
    ([True, False], [0.9, 0.1])
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from training_lib.collab.strategies.base import PairedTargets
from training_lib.config.extensions import STRATEGIES

if TYPE_CHECKING:
    from training_lib.collab.knowledge import StudentKnowledge
    from training_lib.config.schema import Collaboration


def ensemble(probs: Sequence[np.ndarray], seen: Sequence[np.ndarray],
             weights: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean of teacher distributions per item, over the teachers that saw it.

    Returns (mean (n, L), teachers per item (n,)); items no teacher saw are all 0.
    """
    if not probs:
        raise ValueError("ensemble: got no teachers; expected at least one (n, L) array")
    n, width = probs[0].shape
    total = np.zeros((n, width), np.float64)
    mass = np.zeros(n, np.float64)
    count = np.zeros(n, np.int32)
    for p, s, w in zip(probs, seen, weights):
        if w <= 0:
            continue
        s = np.asarray(s, bool)
        total += w * np.asarray(p, np.float64) * s[:, None]
        mass += w * s
        count += s
    mean = total / np.where(mass > 0, mass, 1)[:, None]
    return mean.astype(np.float32), count


def cotraining_targets(probs: Sequence[np.ndarray], seen: Sequence[np.ndarray],
                       weights: Sequence[float], threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """(targets (n, L), confident (n,)): the teachers' mean where its top probability is
    at least `threshold`, zeros elsewhere."""
    if not 0 <= threshold <= 1:
        raise ValueError(f"threshold: got {threshold!r}; expected a probability in [0, 1]")
    mean, count = ensemble(probs, seen, weights)
    confident = (count > 0) & (mean.max(axis=1) >= threshold)
    return np.where(confident[:, None], mean, 0).astype(np.float32), confident


@STRATEGIES.register
class CoTraining(PairedTargets):
    """Share: the teachers' confident mean (T = 1). Consume: an item the student has no
    label for joins its training rows with that target, scaled by `cotraining_weight`."""

    name = "cotraining"
    role = "hard"

    def targets(self, probs: Sequence[np.ndarray], soft: Sequence[np.ndarray],
                seen: Sequence[np.ndarray], weights: Sequence[float],
                cfg: "Collaboration") -> tuple[np.ndarray, np.ndarray]:
        return cotraining_targets(probs, seen, weights, cfg.confidence_threshold)

    def row_target(self, student: "StudentKnowledge", row: int,
                   cfg: "Collaboration") -> np.ndarray:
        if not student.confident[row]:
            return np.zeros(len(student.classes), np.float32)
        return student.cotrain[row] * cfg.cotraining_weight
