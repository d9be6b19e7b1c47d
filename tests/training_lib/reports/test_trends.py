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


def _recorded_run(dag_dir, run_id: str, started: float, seconds: float, data_root: str,
                  failed_at: str | None = None):
    """A run folder as the stages leave it: config.json (started), a model's result.json
    (finished `seconds` later), evaluation.json, and failure.json for a failed run."""
    import json
    import os

    from training_lib.runs.folder import RunFolder

    folder = RunFolder(dag_dir / run_id)
    folder.path.mkdir(parents=True)
    folder.config.write_text(json.dumps({"run_id": run_id,
                                         "resolved": {"data_root": data_root}}))
    os.utime(folder.config, (started, started))
    if failed_at:
        folder.failure.write_text(json.dumps({"task": failed_at, "cause": "x"}))
        folder.evaluation.write_text(json.dumps({"m": {"status": "not started"}}))
    else:
        folder.round("m").path.mkdir(parents=True)
        folder.round("m").result.write_text(json.dumps({
            "metric": "accuracy", "test_metric": 0.9, "seconds": seconds / 2,
            "finished": started + seconds}))
        folder.evaluation.write_text(json.dumps({"m": {"status": "trained"}}))
    for path in (folder.evaluation,):
        os.utime(path, (started + seconds, started + seconds))
    return folder.path


def test_failed_runs_and_other_data_folders_do_not_hide_a_slowdown(tmp_path):
    from training_lib.reports.trends import compare_with_earlier, regressions

    dag = tmp_path / "runs" / "quick_start"
    data, other = str(tmp_path / "data"), str(tmp_path / "other")
    t = 1_700_000_000.0
    for i in range(3):  # the comparable ones: 51 s each
        _recorded_run(dag, f"good-{i}", t + i * 1000, 51, data)
    for i in range(3):  # failed with retries: slow, and must not become the baseline
        _recorded_run(dag, f"failed-{i}", t + 5000 + i * 1000, 130, data, failed_at="scan_data")
    _recorded_run(dag, "elsewhere", t + 9000, 300, other)
    current = _recorded_run(dag, "now", t + 20000, 86, data)

    comparison = compare_with_earlier(current)
    assert [r["run_id"] for r in comparison["runs"]] == ["good-0", "good-1", "good-2", "now"]
    assert {x["run_id"]: x["reason"] for x in comparison["excluded"]} == {
        "failed-0": "failed: at scan_data", "failed-1": "failed: at scan_data",
        "failed-2": "failed: at scan_data", "elsewhere": f"other data folder {other}"}
    assert comparison["basis"] == (f"compared with 3 earlier finished run(s) on {data}: "
                                   "good-0, good-1, good-2; left out 4 (3 failed, 1 on another "
                                   "data folder)")
    found = {r["what"]: r for r in regressions(comparison["runs"])}
    assert found["pipeline duration"]["median"] == 51 and found["pipeline duration"]["runs"] == 3
    assert found["pipeline duration"]["current"] == 86
