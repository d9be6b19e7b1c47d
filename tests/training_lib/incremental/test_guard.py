"""The forgetting guard's decision rule on paired outcomes of champion and candidate."""
from __future__ import annotations

import numpy as np
import pytest

from training_lib.incremental import guard
from training_lib.training.significance import compare_proportions


def _side(n: int, champion_wrong: int, flipped_wrong: int = 0, flipped_right: int = 0):
    """Champion wrong on the first `champion_wrong` rows; the candidate additionally wrong
    on `flipped_wrong` rows the champion got right, and right on `flipped_right` of the
    champion's wrong rows."""
    champion = np.ones(n, dtype=bool)
    champion[:champion_wrong] = False
    candidate = champion.copy()
    candidate[:flipped_right] = True
    candidate[champion_wrong:champion_wrong + flipped_wrong] = False
    return compare_proportions(champion, candidate)


def test_ceiling_on_new_data_and_old_unchanged_means_no_change_needed():
    new = _side(40, 0, flipped_wrong=1)   # champion 1.0; candidate 0.975 (one row: noise)
    old = _side(290, 10)                  # 0.9655 -> 0.9655, same rows right
    verdict = guard.judge(old, new, epsilon=0.01, metric="accuracy")
    assert verdict.verdict == guard.NO_CHANGE and not verdict.accepted
    assert "ceiling on new data (1.0000)" in verdict.reason
    assert "candidate right on no old-data row" in verdict.reason
    record = verdict.record
    assert record["new"]["n"] == 40 and record["new"]["p_value"] == 1.0
    assert record["old"]["metric_a"] == record["old"]["metric_b"] == pytest.approx(280 / 290)


def test_significant_improvement_on_new_data_without_forgetting_is_accepted():
    new = _side(60, 20, flipped_right=12)        # 0.667 -> 0.867, 12 vs 0 discordant
    old = _side(200, 10, flipped_wrong=2, flipped_right=1)  # -0.005: within epsilon
    verdict = guard.judge(old, new, epsilon=0.01)
    assert verdict.verdict == guard.ACCEPTED and verdict.accepted
    assert "new data better beyond noise" in verdict.reason
    assert "p = 0.0005" in verdict.reason  # 2 / 2^12 = 0.000488


def test_clear_forgetting_is_rejected_even_with_better_new_data():
    new = _side(60, 20, flipped_right=12)
    old = _side(60, 5, flipped_wrong=15)         # 15 flipped wrong, none right: p = 6.1e-5
    verdict = guard.judge(old, new, epsilon=0.01)
    assert verdict.verdict == guard.REJECTED
    assert "forgetting: old data dropped 0.2500 > epsilon 0.01 (p = 6.1e-05 < 0.05)" in \
        verdict.reason


def test_an_old_drop_within_noise_is_not_forgetting():
    new = _side(60, 20, flipped_right=12)
    old = _side(22, 0, flipped_wrong=1)          # -0.045 > epsilon, but one row: p = 1
    assert guard.judge(old, new, epsilon=0.01).verdict == guard.ACCEPTED


def test_new_data_worse_beyond_noise_is_rejected():
    new = _side(60, 5, flipped_wrong=15)
    verdict = guard.judge(_side(100, 3), new, epsilon=0.01)
    assert verdict.verdict == guard.REJECTED and "new data worse beyond noise" in verdict.reason


def test_room_to_improve_but_no_significant_gain_is_rejected():
    new = _side(40, 10, flipped_right=3, flipped_wrong=1)   # 3 vs 1: p = 0.625
    verdict = guard.judge(_side(100, 3), new, epsilon=0.01)
    assert verdict.verdict == guard.REJECTED
    assert "no significant improvement" in verdict.reason


def test_the_decision_record_names_counts_intervals_and_p_values():
    verdict = guard.judge(_side(290, 10), _side(40, 0, flipped_wrong=1), epsilon=0.01,
                          metric="accuracy")
    assert ("new data: 40 rows, accuracy champion 1.0000 [0.9124, 1.0000] -> candidate 0.9750 "
            "[0.8712, 0.9956], McNemar 1 champion-only vs 0 candidate-only right, p = 1.0000"
            in verdict.reason)
    assert "old data: 290 rows, accuracy champion 0.9655" in verdict.reason


@pytest.mark.parametrize(("n_new", "waiting"), [(22, True), (29, True), (30, False)])
def test_minimum_new_test_rows(n_new, waiting):
    verdict = guard.waiting_for_rows(n_new, 30)
    assert (verdict is not None) == waiting
    if waiting:
        assert verdict.verdict == guard.WAITING
        assert verdict.reason == f"{n_new} new test rows < 30: waiting for more new data"
