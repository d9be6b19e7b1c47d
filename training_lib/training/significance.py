"""Paired comparison of two models on the same test rows: is the difference beyond noise?

Two tests, chosen by the metric:
- proportions (accuracy, exact match): McNemar's exact test. Only the discordant rows
  carry information: b rows the first model (A) got right and the second (B) wrong, c
  rows the other way round. Under "no difference" each discordant row is a fair coin, so
  the two-sided p-value is P(Binomial(b + c, 1/2) <= min(b, c)) doubled (capped at 1).
  Each model's accuracy gets a Wilson score interval.
- any other metric (R^2): a paired bootstrap. The same resampled rows score both models;
  the percentile interval of each metric and of B - A, and the two-sided p-value
  2 * min(P(B - A <= 0), P(B - A >= 0)) over the resamples (fixed seed: reproducible).

Pure functions over per-row outcomes, no model or framework here.

    >>> mcnemar_p(1, 0)                # one row flipped on 22: no evidence at all
    1.0
    >>> round(mcnemar_p(15, 0), 6)     # 15 flipped wrong, none right: a regression
    6.1e-05
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np

Z_95 = 1.959963984540054  # two-sided 95% normal quantile


@dataclass(frozen=True)
class PairedComparison:
    """Model A (the champion) against model B (the candidate) on the same n rows."""

    test: str  # "mcnemar" | "bootstrap"
    n: int
    metric_a: float
    metric_b: float
    ci_a: tuple[float, float]
    ci_b: tuple[float, float]
    p_value: float
    a_only: int | None = None  # McNemar: rows A got right and B wrong (b)
    b_only: int | None = None  # McNemar: rows B got right and A wrong (c)
    diff_ci: tuple[float, float] | None = None  # bootstrap: interval of B - A

    @property
    def diff(self) -> float:
        return self.metric_b - self.metric_a

    def significant(self, alpha: float) -> bool:
        return self.p_value < alpha

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "diff": self.diff}


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval of a proportion successes/n ((0, 1) for n = 0)."""
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"wilson_interval: got successes={successes}, n={n}; expected "
                         "0 <= successes <= n")
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def mcnemar_p(a_only: int, b_only: int) -> float:
    """Exact two-sided McNemar p-value from the discordant counts (1.0 with none)."""
    if a_only < 0 or b_only < 0:
        raise ValueError(f"mcnemar_p: got counts {a_only}, {b_only}; expected counts >= 0")
    n = a_only + b_only
    if n == 0:
        return 1.0
    k = min(a_only, b_only)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def compare_proportions(correct_a: Any, correct_b: Any) -> PairedComparison:
    """McNemar on two per-row right/wrong vectors over the same rows."""
    a = np.asarray(correct_a, dtype=bool)
    b = np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"compare_proportions: got shapes {a.shape} and {b.shape}; expected "
                         "two 1-d vectors over the same rows")
    n = int(a.size)
    a_only, b_only = int(np.sum(a & ~b)), int(np.sum(b & ~a))
    k_a, k_b = int(a.sum()), int(b.sum())
    return PairedComparison("mcnemar", n, k_a / n if n else float("nan"),
                            k_b / n if n else float("nan"), wilson_interval(k_a, n),
                            wilson_interval(k_b, n), mcnemar_p(a_only, b_only), a_only, b_only)


def compare_bootstrap(truth: Any, predicted_a: Any, predicted_b: Any,
                      metric: Callable[[np.ndarray, np.ndarray], float], *,
                      resamples: int = 1000, seed: int = 0,
                      level: float = 0.95) -> PairedComparison:
    """Paired bootstrap of `metric(truth, predicted)`: rows resampled with replacement,
    the same rows for both models."""
    y, pa, pb = np.asarray(truth), np.asarray(predicted_a), np.asarray(predicted_b)
    n = int(len(y))
    if not len(pa) == len(pb) == n:
        raise ValueError(f"compare_bootstrap: got {n} truths and {len(pa)}, {len(pb)} "
                         "predictions; expected the same rows for both models")
    if n == 0:
        raise ValueError("compare_bootstrap: no rows to compare")
    rng = np.random.default_rng(seed)
    scores_a, scores_b = np.empty(resamples), np.empty(resamples)
    for i in range(resamples):
        rows = rng.integers(0, n, size=n)
        scores_a[i], scores_b[i] = metric(y[rows], pa[rows]), metric(y[rows], pb[rows])
    diff = scores_b - scores_a
    p = min(1.0, 2 * min(float(np.mean(diff <= 0)), float(np.mean(diff >= 0))))
    return PairedComparison("bootstrap", n, float(metric(y, pa)), float(metric(y, pb)),
                            _percentile(scores_a, level), _percentile(scores_b, level), p,
                            diff_ci=_percentile(diff, level))


def _percentile(values: np.ndarray, level: float) -> tuple[float, float]:
    tail = (1 - level) / 2 * 100
    lo, hi = np.nanpercentile(values, [tail, 100 - tail])
    return float(lo), float(hi)
