"""Faults are recorded, hangs are caught and retried, lost tries are noted by the next one,
failed GPUs and unhealthy nodes are avoided on the retry."""
from __future__ import annotations

import json

import pytest

from tests.fixtures.fake_nvml import h100s
from training_lib.errors import TrainingError
from training_lib.pipeline import fault_log, stages
from training_lib.pipeline.launcher import TrainingStalled
from training_lib.runs.context import load_run, start_run
from training_lib.runs.faults import read_faults, record_fault


@pytest.mark.slow
def test_hung_step_is_caught_recorded_and_the_retry_resumes(logic_run, monkeypatch):
    ctx = logic_run("hang-1", preset="hang_logic", params={"force_retrain": True})
    monkeypatch.setenv("TLIB_INJECT", "hang_at_step=12")
    with pytest.raises(TrainingStalled, match="no training step completed"):
        stages.train_model(ctx, "logic_model", log_line=lambda line: None)
    fault = read_faults(ctx.run_dir)[-1]
    assert fault["kind"] == "stalled" and fault["try"] == 1 and fault["step"] >= 10
    retry = load_run(ctx.run_dir, try_number=2)  # TLIB_INJECT fires on try 1 only
    result = stages.train_model(retry, "logic_model", log_line=lambda line: None)
    outcome = retry.round("logic_model").read_result()
    assert outcome["resumed_from_step"] == 10  # the checkpoint before the hang
    assert result["test_metric"] >= 0


def test_lost_try_is_recorded_by_the_next_one(tmp_path):
    ctx = start_run("faults", "lost-1", "quick_start", {"data_folder": str(tmp_path)})
    metrics = ctx.round("math_model").metrics
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
    plan.save(ctx.folder.plan)
    assert plan.models["math_model"].device == "gpu:0"
    record_fault(ctx, model="math_model", round=1, **{"try": 1}, device="gpu:0",
                 kind="crashed", error="CUDA_ERROR_ECC_UNCORRECTABLE", step=12)
    retry = load_run(ctx.run_dir, try_number=2)
    moved = stages.plan_after_faults(retry, "math_model", 1, set())
    assert moved.device == "gpu:1"
    assert read_faults(ctx.run_dir)[-1]["kind"] == "migrated"


def test_unhealthy_node_stops_the_try_with_a_clear_fault(tmp_path, monkeypatch):
    from training_lib.resources import health

    ctx = start_run("faults", "node-1", "quick_start", {"data_folder": str(tmp_path)})
    ctx.write_json(ctx.folder.routing, {"models": ["math_model"], "left_out": {}})
    monkeypatch.setattr(health, "check_health", lambda *a, **k: health.Health(
        False, ("disk: 0.20 GB free at /x (needs 1.0 GB)",)))
    with pytest.raises(TrainingError, match="node unhealthy: disk: 0.20 GB free"):
        stages.train_model(ctx, "math_model")
    assert read_faults(ctx.run_dir)[-1]["kind"] == "unhealthy_node"


def test_step_reached_is_the_furthest_trace_and_kind_names_the_failure(tmp_path):
    ctx = start_run("faults", "step-1", "quick_start", {"data_folder": str(tmp_path)})
    folder = ctx.round("math_model")
    assert fault_log.step_reached(ctx, "math_model", 1) is None  # no trace at all
    folder.checkpoints.mkdir(parents=True)
    (folder.checkpoints / "ckpt-00000035.json").write_text("{}")
    folder.heartbeat.write_text(json.dumps({"step": 30}))
    folder.metrics.write_text(json.dumps({"event": "start", "try": 1}) + "\n"
                              + json.dumps({"step": 38, "try": 1}) + "\n")
    assert fault_log.step_reached(ctx, "math_model", 1) == 38
    assert fault_log.kind_of(TrainingStalled("no step")) == "stalled"
    assert fault_log.kind_of(TrainingError("x: training process killed by signal 9")) == "killed"
    assert fault_log.kind_of(TrainingError("x: out of memory under its plan")) == "out_of_memory"
    assert fault_log.kind_of(RuntimeError("boom")) == "crashed"


@pytest.mark.slow
def test_a_killed_worker_is_recorded_in_full_and_its_retry_in_one_line(logic_run, monkeypatch):
    import os
    import signal
    import threading
    import time

    from training_lib.pipeline.noise import is_noise
    from training_lib.runs.retries import retry_line, run_retries

    ctx = logic_run("kill-1", params={"force_retrain": True})  # never a reused earlier run
    # slow try 1 down so the 1 s heartbeat shows step 15 before the run ends on a quiet machine
    monkeypatch.setenv("TLIB_INJECT", "delay_per_step=0.05")
    folder = ctx.round("logic_model")
    killed: dict = {}

    def kill_at_step(step: int) -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            beat = folder.read_heartbeat()
            if beat and (beat.get("step") or 0) >= step:
                killed["step"] = beat["step"]
                os.killpg(beat["pid"], signal.SIGKILL)
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_at_step, args=(15,))
    killer.start()
    with pytest.raises(TrainingError, match="killed by signal 9"):
        stages.train_model(ctx, "logic_model", log_line=lambda line: None)
    killer.join()
    fault = read_faults(ctx.run_dir)[-1]
    assert fault["error"] == "logic_model: training process killed by signal 9 (SIGKILL)"
    assert fault["signal"] == 9 and fault["kind"] == "killed" and fault["try"] == 1
    assert fault["step"] >= killed["step"] and fault["host"] and fault["device"]
    assert not any(is_noise(line) for line in fault["output"])

    retry = load_run(ctx.run_dir, try_number=2)
    stages.train_model(retry, "logic_model", log_line=lambda line: None)
    resumed = retry.round("logic_model").read_result()["resumed_from_step"]
    assert resumed and resumed <= fault["step"]
    assert [retry_line(r) for r in run_retries(ctx.run_dir)] == [
        f"logic_model: try 1 killed (signal 9) at step {fault['step']} on {fault['host']} "
        f"({fault['device']}); try 2 resumed from checkpoint {resumed}, "
        f"lost {fault['step'] - resumed} steps"]
