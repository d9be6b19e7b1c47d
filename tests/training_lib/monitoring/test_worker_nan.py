"""A NaN injected into a real training process (TLIB_INJECT=nan_at_step=N, the worker the
DAG runs) is detected, rolled back to the last good checkpoint with a lower learning rate,
and training finishes with finite weights; the event is in the run store, in MLflow and
in the run's report."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tests.e2e.conftest import write_tiny_data
from tests.training_lib.training.test_kill_resume import FIXTURES, _prepare, _weights, _worker

pytestmark = pytest.mark.slow


def test_nan_in_a_real_training_run_is_recovered_from(tmp_path, monkeypatch):
    from training_lib.registry import tracking
    from training_lib.reports.build import build_report
    from training_lib.reports.metrics import read_stream

    monkeypatch.setenv("TLIB_PRESETS_DIR", str(FIXTURES / "presets"))
    data = write_tiny_data(tmp_path / "data", per_class=1, n_records=400)
    ctx = _prepare("nan_injected", data)
    assert _worker(ctx, 1, {"TLIB_INJECT": "nan_at_step=20"}).wait(timeout=300) == 0

    out = ctx.model_dir("logic_model")
    result = json.loads((out / "result.json").read_text())
    steps_per_epoch = -(-result["sizes"]["train"] // 8)
    assert result["global_step"] == 3 * steps_per_epoch  # the whole schedule ran
    assert all(np.isfinite(w).all() for w in _weights(ctx))
    assert result["test_metric"] > result["baseline"] - 0.05

    events = [json.loads(line) for line in (out / "anomalies.jsonl").read_text().splitlines()]
    nan = [e for e in events if e.get("kind") == "nan"]
    # weights poisoned after step 20: step 21's loss is the first NaN; checkpoints every 7
    assert len(nan) == 1 and nan[0]["step"] == 21 and nan[0]["action"] == "rollback"
    assert any(e.get("rolled_back_to") == 14 for e in events)
    _, stream_events = read_stream(out / "metrics.jsonl")
    rollback = [e for e in stream_events if e["event"] == "rollback"]
    assert [(e["from_step"], e["to_step"]) for e in rollback] == [(21, 14)]
    assert rollback[0]["learning_rate"] == pytest.approx(0.0005)
    start = next(e for e in stream_events if e["event"] == "start")
    assert start["injected_faults"] == [{"nan_at_step": 20.0}]
    samples = (out / "system.jsonl").read_text().splitlines()
    assert samples and json.loads(samples[-1])["rss_mb"] > 0

    tags = tracking.client().get_run(result["mlflow_run_id"]).data.tags
    assert tags["anomalies"] == "1" and tags["anomaly.001"].startswith("nan at step 21")

    paths = build_report(ctx, log_to_mlflow=False)
    report = json.loads(paths["training_report"].read_text())
    assert [e["kind"] for e in report["anomalies"]["events"]] == ["nan"]
    kinds = {f["kind"] for f in report["faults"]}
    assert {"injected", "rollback"} <= kinds
    assert sum(c for row in report["anomalies"]["grid"]["counts"] for c in row if c > 0) == 1
