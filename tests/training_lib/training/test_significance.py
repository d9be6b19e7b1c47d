"""Paired tests against hand-computed values: exact McNemar, Wilson intervals, bootstrap."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binomtest

from training_lib.training.evaluation import r2
from training_lib.training.significance import (compare_bootstrap, compare_proportions,
                                                mcnemar_p, wilson_interval)


@pytest.mark.parametrize(("a_only", "b_only", "p"), [
    (0, 0, 1.0),                                  # no discordant row: no evidence
    (1, 0, 1.0),                                  # 2 * (1/2)^1, capped at 1
    (2, 2, 1.0),                                  # 2 * (1 + 4 + 6) / 16 = 1.375 -> 1
    (5, 0, 2 / 2 ** 5),                           # 0.0625: five of five is not enough
    (6, 0, 2 / 2 ** 6),                           # 0.03125
    (15, 0, 2 / 2 ** 15),                         # 6.1e-5
    (3, 17, 2 * (1 + 20 + 190 + 1140) / 2 ** 20),  # 0.0025768...
])
def test_mcnemar_exact_p_values(a_only, b_only, p):
    assert mcnemar_p(a_only, b_only) == pytest.approx(p, rel=1e-12)
    assert mcnemar_p(b_only, a_only) == pytest.approx(p, rel=1e-12)  # two-sided: symmetric
    if a_only + b_only:
        assert mcnemar_p(a_only, b_only) == pytest.approx(
            binomtest(min(a_only, b_only), a_only + b_only, 0.5).pvalue, rel=1e-12)


def test_wilson_interval_hand_computed():
    z2 = 1.959963984540054 ** 2
    lo, hi = wilson_interval(22, 22)
    assert lo == pytest.approx(22 / (22 + z2), rel=1e-12) and hi == 1.0  # p = 1: n / (n + z^2)
    assert wilson_interval(0, 22) == (0.0, pytest.approx(z2 / (22 + z2), rel=1e-12))
    # 8 of 10: centre (0.8 + z^2/20) / (1 + z^2/10), half z*sqrt(.16/10 + z^2/400) / (1 + z^2/10)
    denom = 1 + z2 / 10
    centre, half = (0.8 + z2 / 20) / denom, math.sqrt(z2) * math.sqrt(0.016 + z2 / 400) / denom
    assert wilson_interval(8, 10) == (pytest.approx(centre - half), pytest.approx(centre + half))
    assert wilson_interval(8, 10)[0] == pytest.approx(0.4902, abs=1e-4)
    with pytest.raises(ValueError, match="successes=3, n=2"):
        wilson_interval(3, 2)


def test_a_one_row_difference_on_22_rows_is_not_significant():
    champion = np.ones(22, dtype=bool)
    candidate = champion.copy()
    candidate[7] = False  # 1.0000 -> 0.9545: the second night's vision case
    c = compare_proportions(champion, candidate)
    assert (c.n, c.a_only, c.b_only) == (22, 1, 0)
    assert c.metric_a == 1.0 and c.metric_b == pytest.approx(21 / 22)
    assert c.p_value == 1.0 and not c.significant(0.05)
    assert c.ci_a == wilson_interval(22, 22) and c.ci_b == wilson_interval(21, 22)


def test_a_clear_regression_is_significant():
    champion = np.ones(60, dtype=bool)
    champion[:5] = False  # 55 of 60 right
    candidate = champion.copy()
    candidate[10:25] = False  # 15 rows flipped wrong, none flipped right
    c = compare_proportions(champion, candidate)
    assert (c.a_only, c.b_only) == (15, 0)
    assert c.p_value == pytest.approx(2 / 2 ** 15) and c.significant(0.05)
    assert c.diff == pytest.approx(-15 / 60)


def test_paired_bootstrap_is_reproducible_and_sees_a_real_difference():
    rng = np.random.default_rng(3)
    y = rng.normal(size=(80, 1))
    good = y + rng.normal(scale=0.1, size=y.shape)
    bad = y + rng.normal(scale=1.0, size=y.shape)
    c = compare_bootstrap(y, bad, good, r2, resamples=1000, seed=0)
    assert c.test == "bootstrap" and c.n == 80
    assert c.metric_a == pytest.approx(r2(y, bad)) and c.metric_b == pytest.approx(r2(y, good))
    assert c.p_value < 0.01 and c.diff_ci[0] > 0  # good beats bad on every resample
    assert c.ci_b[0] <= c.metric_b <= c.ci_b[1]
    assert compare_bootstrap(y, bad, good, r2, resamples=1000, seed=0) == c  # fixed seed
    same = compare_bootstrap(y, good, good, r2, resamples=200, seed=0)
    assert same.p_value == 1.0 and same.diff == 0.0 and same.diff_ci == (0.0, 0.0)


def test_mismatched_rows_are_refused():
    with pytest.raises(ValueError, match="same rows"):
        compare_proportions([True, False], [True])
    with pytest.raises(ValueError, match="same rows"):
        compare_bootstrap([1.0, 2.0], [1.0], [1.0, 2.0], r2)
