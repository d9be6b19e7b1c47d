"""Regressions against the median of earlier runs: quality, speed, durations."""
from __future__ import annotations

from training_lib.reports.trends import regressions


def _run(test: float, sps: float, seconds: float, pipeline: float) -> dict:
    return {"run_id": "r", "pipeline_s": pipeline,
            "models": {"m": {"metric": "accuracy", "test": test, "samples_per_second": sps,
                             "train_seconds": seconds}}}


def test_worse_than_the_median_is_flagged_and_noise_is_not():
    earlier = [_run(0.90, 1000, 60, 300), _run(0.91, 1100, 58, 310), _run(0.89, 950, 62, 290)]
    assert regressions([*earlier, _run(0.895, 900, 70, 320)]) == []
    found = regressions([*earlier, _run(0.85, 500, 90, 500)])
    assert [(r["what"], r["model"]) for r in found] == [
        ("test accuracy", "m"), ("samples/s", "m"), ("training time", "m"),
        ("pipeline duration", None)]
    assert found[0]["median"] == 0.90 and found[0]["runs"] == 3
    assert found[1]["text"] == "m: samples/s 500 vs median 1000 of 3 earlier runs"


def test_a_first_run_or_a_new_model_has_nothing_to_compare():
    assert regressions([_run(0.5, 1, 1, 1)]) == []
    new = _run(0.1, 1, 1, 300)
    new["models"]["new_model"] = new["models"].pop("m")
    assert regressions([_run(0.9, 1000, 60, 300), new]) == []
