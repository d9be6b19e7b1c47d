"""Faults are recorded, hangs are caught and retried, failed GPUs and unhealthy nodes are
avoided on the retry."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import write_tiny_data
from tests.training_lib.resources.fake_nvml import h100s
from training_lib.errors import TrainingError
from training_lib.pipeline import stages
from training_lib.pipeline.run import load_run, start_run
from training_lib.training import fault_log

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _ready_run(run_id: str, data: Path, preset: str = "hang_logic"):
    import hashlib

    from training_lib.data.records import FileRecord

    ctx = start_run(preset, run_id, preset, {"data_folder": str(data)})
    body = (data / "logic" / "propositions.jsonl").read_bytes()
    record = FileRecord("logic/propositions.jsonl", len(body), 0, hashlib.sha256(body).hexdigest(),
                        "json", "jsonl", meta={"record_format": "proposition", "n_records": 400})
    ctx.write_json("routing.json", {"models": ["logic_model"], "left_out": {}})
    ctx.write_json("manifests/logic_model.json", {"model": "logic_model",
                                                  "files": [record.to_json()]})
    stages.allocate_resources(ctx)
    return ctx


@pytest.mark.slow
def test_hung_step_is_caught_recorded_and_the_retry_resumes(tmp_path, monkeypatch):
    monkeypatch.setenv("TLIB_PRESETS_DIR", str(FIXTURES / "presets"))
    data = write_tiny_data(tmp_path / "data", per_class=1, n_records=400)
    ctx = _ready_run("hang-1", data)
    monkeypatch.setenv("TLIB_INJECT", "hang_at_step=12")
    from training_lib.training.launcher import TrainingStalled

    with pytest.raises(TrainingStalled, match="no training step completed"):
        stages.train_model(ctx, "logic_model", log_line=lambda line: None)
    fault = fault_log.read_faults(ctx.run_dir)[-1]
    assert fault["kind"] == "stalled" and fault["try"] == 1 and fault["step"] >= 10
    retry = load_run(ctx.run_dir, try_number=2)  # TLIB_INJECT fires on try 1 only
    result = stages.train_model(retry, "logic_model", log_line=lambda line: None)
    outcome = json.loads((retry.model_dir("logic_model") / "result.json").read_text())
    assert outcome["resumed_from_step"] == 10  # the checkpoint before the hang
    assert result["test_metric"] >= 0


def test_lost_try_is_recorded_by_the_next_one(tmp_path):
    ctx = start_run("faults", "lost-1", "quick_start", {"data_folder": str(tmp_path)})
    metrics = ctx.model_dir("math_model") / "metrics.jsonl"
    metrics.parent.mkdir(parents=True)
    metrics.write_text(json.dumps({"event": "start", "try": 1, "host": "worker-a",
                                   "device": "gpu:1"}) + "\n"
                       + json.dumps({"step": 40, "try": 1, "loss": 0.3}) + "\n")
    retry = load_run(ctx.run_dir, try_number=2)
    lost = fault_log.note_lost_tries(retry, "math_model", 1)
    assert len(lost) == 1 and lost[0]["kind"] == "lost"
    assert lost[0]["host"] == "worker-a" and lost[0]["device"] == "gpu:1" and lost[0]["step"] == 40
    assert fault_log.note_lost_tries(retry, "math_model", 1) == []  # recorded once


def test_retry_moves_off_the_gpu_that_failed(tmp_path, monkeypatch):
    from training_lib.resources import probe as probe_module
    from training_lib.resources.plan import plan_resources
    from training_lib.resources.probe import probe_machine

    real = probe_module.probe_gpus
    monkeypatch.setattr(probe_module, "probe_gpus", lambda nvml=None: real(h100s(2)))
    ctx = start_run("faults", "gpu-1", "quick_start", {"data_folder": str(tmp_path)})
    from training_lib.resources.plan import ModelNeed

    plan = plan_resources(probe_machine(), [ModelNeed("math_model", 256, 64)])
    plan.save(ctx.run_dir / "plan.json")
    assert plan.models["math_model"].device == "gpu:0"
    fault_log.record_fault(ctx, model="math_model", round=1, **{"try": 1}, device="gpu:0",
                           kind="crashed", error="CUDA_ERROR_ECC_UNCORRECTABLE", step=12)
    retry = load_run(ctx.run_dir, try_number=2)
    moved = stages.plan_after_faults(retry, "math_model", 1, set())
    assert moved.device == "gpu:1"
    assert fault_log.read_faults(ctx.run_dir)[-1]["kind"] == "migrated"


def test_unhealthy_node_stops_the_try_with_a_clear_fault(tmp_path, monkeypatch):
    from training_lib.resources import health

    ctx = start_run("faults", "node-1", "quick_start", {"data_folder": str(tmp_path)})
    ctx.write_json("routing.json", {"models": ["math_model"], "left_out": {}})
    monkeypatch.setattr(health, "check_health", lambda *a, **k: health.Health(
        False, ("disk: 0.20 GB free at /x (needs 1.0 GB)",)))
    with pytest.raises(TrainingError, match="node unhealthy: disk: 0.20 GB free"):
        stages.train_model(ctx, "math_model")
    assert fault_log.read_faults(ctx.run_dir)[-1]["kind"] == "unhealthy_node"
