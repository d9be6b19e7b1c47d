"""Distillation: softened targets, and the loss is CE + weight * T^2 * KL computed right."""
from __future__ import annotations

import numpy as np

from training_lib.collab.losses import CollaborativeLoss, HardTargetAccuracy, one_hot, stack_targets
from training_lib.collab.strategies.distillation import distillation_targets, kl_divergence, soften


def test_soften_divides_logits_by_the_temperature():
    logits = np.array([[2.0, 0.0]])
    np.testing.assert_allclose(soften(logits, 1.0)[0, 0], np.exp(2) / (np.exp(2) + 1), rtol=1e-6)
    np.testing.assert_allclose(soften(logits, 2.0)[0, 0], np.exp(1) / (np.exp(1) + 1), rtol=1e-6)
    assert soften(logits, 100.0)[0, 0] < 0.51  # very soft: near uniform


def test_distillation_targets_average_the_teachers_softened_outputs():
    t1 = soften(np.array([[1.0, 0.0, 0.0]]), 2.0)
    t2 = soften(np.array([[0.0, 1.0, 0.0]]), 2.0)
    target, has = distillation_targets([t1, t2], [np.ones(1, bool)] * 2, [1.0, 1.0])
    np.testing.assert_allclose(target, (t1 + t2) / 2, rtol=1e-6)
    assert has.tolist() == [True]


def test_loss_is_cross_entropy_plus_weighted_scaled_kl_on_softened_outputs():
    logits = np.array([[1.0, -0.5, 0.3], [0.2, 0.1, -1.0], [2.0, 0.0, 0.0]], np.float32)
    hard = np.array([[1, 0, 0], [0, 0, 0], [0.5, 0.3, 0]], np.float32)  # one-hot, none, soft
    soft = np.array([[0.2, 0.5, 0.3], [0.6, 0.2, 0.2], [0, 0, 0]], np.float32)
    temperature, weight = 3.0, 0.7
    loss = CollaborativeLoss(3, temperature, weight, reduction=None)
    got = np.asarray(loss(stack_targets(hard, soft), logits))
    log_p = np.log(soften(logits, 1.0).astype(np.float64))
    expected = -(hard * log_p).sum(axis=1) + weight * temperature ** 2 * kl_divergence(
        soft, logits, temperature)
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    assert expected[2] == -(hard[2] * log_p[2]).sum()  # no distillation target: no KL term


def test_kl_is_zero_when_the_student_matches_the_softened_target():
    logits = np.array([[1.5, 0.2, -0.4]])
    assert abs(kl_divergence(soften(logits, 2.0), logits, 2.0)[0]) < 1e-6


def test_accuracy_counts_only_rows_with_a_hard_target():
    metric = HardTargetAccuracy(2)
    hard = np.array([[1, 0], [0, 1], [0, 0]], np.float32)
    logits = np.array([[3.0, 0.0], [3.0, 0.0], [0.0, 3.0]], np.float32)
    metric.update_state(stack_targets(hard, np.zeros_like(hard)), logits)
    assert float(metric.result()) == 0.5  # row 3 only distils and is not counted


def test_one_hot():
    assert one_hot(np.array([2, 0]), 3).tolist() == [[0, 0, 1], [1, 0, 0]]
