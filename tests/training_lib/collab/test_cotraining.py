"""Co-training targets: the other views' weighted mean, kept only when confident."""
from __future__ import annotations

import numpy as np
import pytest

from training_lib.collab.strategies.cotraining import cotraining_targets, ensemble


def test_ensemble_is_the_weighted_mean_over_the_teachers_that_saw_each_item():
    a = np.array([[0.8, 0.2], [0.6, 0.4], [0.5, 0.5]], np.float32)
    b = np.array([[0.2, 0.8], [1.0, 0.0], [0.9, 0.1]], np.float32)
    seen_a = np.array([True, True, False])
    seen_b = np.array([True, False, False])
    mean, count = ensemble([a, b], [seen_a, seen_b], [3.0, 1.0])
    np.testing.assert_allclose(mean[0], [(3 * 0.8 + 0.2) / 4, (3 * 0.2 + 0.8) / 4], rtol=1e-6)
    np.testing.assert_allclose(mean[1], [0.6, 0.4], rtol=1e-6)  # b did not see item 1
    assert mean[2].tolist() == [0.0, 0.0] and count.tolist() == [2, 1, 0]


def test_confidence_threshold_is_respected_at_and_around_the_boundary():
    p = np.array([[0.70, 0.30], [0.69, 0.31], [0.95, 0.05], [0.5, 0.5]], np.float32)
    seen = np.array([True, True, True, False])
    targets, confident = cotraining_targets([p], [seen], [1.0], threshold=0.7)
    assert confident.tolist() == [True, False, True, False]  # unseen: never confident
    np.testing.assert_allclose(targets[0], [0.7, 0.3], rtol=1e-6)  # soft, not one-hot
    assert not targets[1].any() and not targets[3].any()


def test_two_unsure_teachers_that_agree_can_be_confident_together_and_disagreeing_not():
    a = np.array([[0.9, 0.1], [0.9, 0.1]], np.float32)
    b = np.array([[0.7, 0.3], [0.1, 0.9]], np.float32)
    seen = np.ones(2, bool)
    _, confident = cotraining_targets([a, b], [seen, seen], [1.0, 1.0], threshold=0.75)
    assert confident.tolist() == [True, False]  # means 0.8 and 0.5


def test_threshold_outside_zero_one_is_refused_with_its_value():
    with pytest.raises(ValueError, match="threshold: got 1.5"):
        cotraining_targets([np.ones((1, 2)) / 2], [np.ones(1, bool)], [1.0], 1.5)
