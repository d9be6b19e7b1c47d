"""Mutual distillation: each model learns its peers' softened outputs on shared items.

Between models whose label spaces align (labels.py), every model is a teacher of
the others on the paired items: the target of item i is the mean of the teachers'
softmax(logits / T). The student's loss gains weight * T^2 * KL(target || softmax(
student logits / T)) (Hinton et al. 2015: T^2 keeps gradients comparable across T).

The student trains on these targets with `collab/losses.py`'s `CollaborativeLoss`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from training_lib.collab.strategies.base import PairedTargets
from training_lib.collab.strategies.cotraining import ensemble
from training_lib.config.extensions import STRATEGIES

if TYPE_CHECKING:
    from training_lib.collab.knowledge import StudentKnowledge
    from training_lib.config.schema import Collaboration


def soften(logits: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(logits / T) per row, computed stably."""
    if temperature <= 0:
        raise ValueError(f"temperature: got {temperature!r}; expected a positive number")
    z = np.asarray(logits, np.float64) / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def distillation_targets(soft_probs: Sequence[np.ndarray], seen: Sequence[np.ndarray],
                         weights: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """(targets (n, L), has_target (n,)): the teachers' mean softened distribution."""
    mean, count = ensemble(soft_probs, seen, weights)
    return mean, count > 0


def kl_divergence(target: np.ndarray, student_logits: np.ndarray, temperature: float) -> np.ndarray:
    """Per-row KL(target || softmax(student / T)), 0 for rows without a target (numpy)."""
    q = soften(student_logits, temperature).astype(np.float64)
    t = np.asarray(target, np.float64)
    terms = np.where(t > 0, t * (np.log(np.where(t > 0, t, 1)) - np.log(q)), 0.0)
    return terms.sum(axis=1)


@STRATEGIES.register
class Distillation(PairedTargets):
    """Share: the teachers' mean softened distribution (T = `temperature`). Consume: the
    distillation columns of the student's own rows and of the appended items."""

    name = "distillation"
    role = "soft"

    def targets(self, probs: Sequence[np.ndarray], soft: Sequence[np.ndarray],
                seen: Sequence[np.ndarray], weights: Sequence[float],
                cfg: "Collaboration") -> tuple[np.ndarray, np.ndarray]:
        return distillation_targets(soft, seen, weights)

    def row_target(self, student: "StudentKnowledge", row: int,
                   cfg: "Collaboration") -> np.ndarray:
        return student.distill[row]
