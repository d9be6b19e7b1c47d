"""The forgetting guard: does a fine-tuned candidate replace its champion?

Champion and candidate are compared on the SAME old-data and new-data test rows with a
paired test (`training.significance`: McNemar for accuracy/exact match, a paired
bootstrap otherwise). With `alpha` the significance level and `epsilon` the allowed
old-data drop:

- waiting:          fewer than `min_new_rows` new-data test rows; nothing is judged and
                    the new data accumulates until there are enough;
- rejected:         new data significantly worse (p < alpha), or old data dropped by more
                    than epsilon and significantly (forgetting);
- accepted:         otherwise, if new or old data is significantly better;
- no change needed: otherwise, if neither side could show an improvement: the champion
                    is at the ceiling there (1.0) or the candidate is right on no row the
                    champion got wrong; the champion stays and no version is registered;
- rejected:         otherwise (it could have improved and did not beyond noise).

Every verdict carries a record: row counts, both metrics with 95% intervals (Wilson for
proportions, bootstrap percentile otherwise) and the p-values.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from training_lib.training.significance import PairedComparison

ACCEPTED, REJECTED, NO_CHANGE, WAITING = "accepted", "rejected", "no change needed", "waiting"
CEILING = 1.0 - 1e-12


@dataclass(frozen=True)
class Verdict:
    verdict: str  # accepted | rejected | no change needed | waiting
    reason: str
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return self.verdict == ACCEPTED


def waiting_for_rows(n_new: int, min_new_rows: int) -> Verdict | None:
    """The waiting verdict when there are too few new-data test rows to judge, else None."""
    if n_new >= min_new_rows:
        return None
    return Verdict(WAITING, f"{n_new} new test rows < {min_new_rows}: waiting for more new data",
                   {"n_new": n_new, "min_new_test_rows": min_new_rows})


def judge(old: PairedComparison | None, new: PairedComparison, *, epsilon: float,
          alpha: float = 0.05, metric: str = "metric") -> Verdict:
    """The verdict on a candidate (B) against its champion (A); see the module doc."""
    harm = []
    if new.diff < 0 and new.significant(alpha):
        harm.append(f"new data worse beyond noise (p = {_p(new.p_value)} < {alpha})")
    if old is not None and -old.diff > epsilon and old.significant(alpha):
        harm.append(f"forgetting: old data dropped {-old.diff:.4f} > epsilon {epsilon} "
                    f"(p = {_p(old.p_value)} < {alpha})")
    better = [name for name, side in (("new", new), ("old", old))
              if side is not None and side.diff > 0 and side.significant(alpha)]
    if harm:
        verdict, why = REJECTED, "; ".join(harm)
    elif better:
        verdict, why = ACCEPTED, " and ".join(f"{n} data better beyond noise" for n in better) + \
            f" (p < {alpha}), no significant loss"
    elif not _could_improve(new) and not _could_improve(old):
        verdict, why = NO_CHANGE, "; ".join(_why_not(n, s) for n, s in (("new", new), ("old", old))
                                            if s is not None) + "; the champion stays"
    else:
        verdict, why = REJECTED, f"no significant improvement (p >= {alpha} on both)"
    record = {"verdict": verdict, "alpha": alpha, "epsilon": epsilon, "metric": metric,
              "new": new.to_json(), "old": old.to_json() if old is not None else None}
    return Verdict(verdict, f"{why}. {describe(new, old, metric)}", record)


def _could_improve(side: PairedComparison | None) -> bool:
    if side is None or side.metric_a >= CEILING:
        return False
    if side.test == "mcnemar":
        return bool(side.b_only)
    return side.diff != 0


def _why_not(name: str, side: PairedComparison) -> str:
    if side.metric_a >= CEILING:
        return f"champion already at the ceiling on {name} data ({side.metric_a:.4f})"
    if side.test == "mcnemar":
        return f"candidate right on no {name}-data row the champion got wrong"
    return f"candidate scores the same on {name} data"


def describe(new: PairedComparison, old: PairedComparison | None, metric: str = "metric") -> str:
    """One line per side: rows, champion -> candidate with 95% intervals, test, p."""
    parts = [f"new data: {_side(new, metric)}"]
    parts.append(f"old data: {_side(old, metric)}" if old is not None else "old data: no rows")
    return "; ".join(parts)


def _side(c: PairedComparison, metric: str) -> str:
    test = (f"McNemar {c.a_only} champion-only vs {c.b_only} candidate-only right, "
            if c.test == "mcnemar" else "paired bootstrap, ")
    return (f"{c.n} rows, {metric} champion {c.metric_a:.4f} [{c.ci_a[0]:.4f}, {c.ci_a[1]:.4f}] "
            f"-> candidate {c.metric_b:.4f} [{c.ci_b[0]:.4f}, {c.ci_b[1]:.4f}], "
            f"{test}p = {_p(c.p_value)}")


def _p(value: float) -> str:
    return f"{value:.4f}" if value >= 1e-4 else f"{value:.1e}"
