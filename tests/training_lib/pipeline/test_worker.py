"""The training worker, run as the real subprocess the train stage starts: SIGKILLed
mid-epoch, the next try resumes from its checkpoint, runs exactly the missing batches and
ends with the weights of an uninterrupted run, even on a worker that lacks the local
checkpoint folder (it pulls the mirror, TLIB_CHECKPOINT_URL); a NaN is rolled back; out of
memory names the plan that caused it."""
from __future__ import annotations

import json
import os
import shutil
import signal
import time
from dataclasses import FrozenInstanceError, replace

import numpy as np
import pytest

from training_lib.pipeline.worker import TrainingJob
from training_lib.pipeline.worker_checks import is_out_of_memory, out_of_memory_message
from training_lib.resources.plan import ModelPlan

PLAN = ModelPlan("vision_service", "gpu:0", (0,), 4096, 4, 256, 3000, "tlib_gpu", True, False,
                 note="batch size 512 -> 256 to fit 4096 MB")


@pytest.mark.parametrize("error", [
    MemoryError(),
    RuntimeError("RESOURCE_EXHAUSTED: Out of memory while trying to allocate 2147483648 bytes."),
    RuntimeError("OOM when allocating tensor with shape[512,32,32,64]"),
])
def test_out_of_memory_is_recognised_and_names_the_plan(error):
    assert is_out_of_memory(error)
    message = out_of_memory_message("vision_service", PLAN, error)
    for part in ("vision_service", "gpu:0", "GPU memory cap 4096 MB", "batch size 256",
                 "batch size 512 -> 256", "plan.json"):
        assert part in message


def test_other_errors_are_not_out_of_memory():
    assert not is_out_of_memory(ValueError("shapes (3,) and (4,) not aligned"))


def test_a_training_job_carries_the_models_settings_and_round_folder(tmp_path):
    from training_lib.runs.context import start_run

    ctx = start_run("job_test", "run-1", "quick_start", {"data_folder": str(tmp_path)})
    ctx = replace(ctx, preset=ctx.preset.with_overrides(
        models={"logic_model": {"epochs": 7, "learning_rate": 0.01}}))
    job = TrainingJob.create(ctx, "logic_model", 2, PLAN)
    assert (job.epochs, job.learning_rate, job.spec.name) == (7, 0.01, "logic_model")
    assert job.folder.path == ctx.run_dir / "models" / "logic_model" / "round_2"
    assert job.folder.label == "logic_model/round_2" and job.run_id == ""
    assert not job.collaborative  # quick_start does not collaborate
    assert replace(job, run_id="abc").run_id == "abc"
    with pytest.raises(FrozenInstanceError):
        job.epochs = 3  # type: ignore[misc]


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_matches_uninterrupted(tmp_path, logic_run, start_worker,
                                                             saved_weights):
    reference = logic_run("uninterrupted")
    assert start_worker(reference, 1).wait(timeout=300) == 0
    ref_result = reference.round("logic_model").read_result()

    ctx = logic_run("killed")
    folder = ctx.round("logic_model")
    mirror = {"TLIB_CHECKPOINT_URL": (tmp_path / "object_store").as_uri()}
    proc = start_worker(ctx, 1, {"TLIB_INJECT": "delay_per_step=0.05", **mirror})
    deadline = time.time() + 240
    killed_at = 0
    while time.time() < deadline:
        beat = folder.read_heartbeat() or {}
        steps_per_epoch = ref_result["global_step"] // ref_result["epochs"]
        if beat.get("step", 0) >= steps_per_epoch + 10:  # inside the second epoch
            os.killpg(proc.pid, signal.SIGKILL)
            killed_at = beat["step"]
            break
        time.sleep(0.05)
    assert proc.wait(timeout=30) == -signal.SIGKILL and killed_at
    assert not folder.result.exists()

    # the retry lands on a worker without this disk's checkpoints: only the mirror has them
    local = folder.checkpoints
    mirrored = {p.name for p in (tmp_path / "object_store").rglob("ckpt-*.json")}
    assert mirrored and mirrored <= {p.name for p in local.glob("ckpt-*.json")}
    newest_mirrored = max(int(name[5:13]) for name in mirrored)
    shutil.rmtree(local)
    assert start_worker(ctx, 2, mirror).wait(timeout=300) == 0
    result = folder.read_result()
    resumed = result["resumed_from_step"]
    assert resumed is not None and resumed % 7 == 0 or resumed % steps_per_epoch == 0
    assert resumed == newest_mirrored
    # at most one checkpoint interval lost, one more if the kill hit an upload in flight
    assert killed_at - 14 <= resumed <= killed_at + 2
    assert result["global_step"] == ref_result["global_step"]
    assert result["steps_run"] == ref_result["global_step"] - resumed  # exactly the missing ones
    for a, b in zip(saved_weights(reference), saved_weights(ctx)):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert result["test_metric"] == pytest.approx(ref_result["test_metric"], abs=1e-9)


@pytest.mark.slow
def test_nan_in_a_real_training_run_is_recovered_from(logic_run, start_worker, saved_weights):
    """A NaN injected into the real worker (TLIB_INJECT=nan_at_step=N) is detected, rolled
    back to the last good checkpoint with a lower learning rate, and training finishes
    with finite weights; the event is in the run store, in MLflow and in the report."""
    from training_lib.registry import tracking
    from training_lib.reports.build import build_report
    from training_lib.reports.metrics import read_stream

    ctx = logic_run("nan_injected")
    assert start_worker(ctx, 1, {"TLIB_INJECT": "nan_at_step=20"}).wait(timeout=300) == 0

    out = ctx.round("logic_model")
    result = out.read_result()
    steps_per_epoch = -(-result["sizes"]["train"] // 8)
    assert result["global_step"] == 3 * steps_per_epoch  # the whole schedule ran
    assert all(np.isfinite(w).all() for w in saved_weights(ctx))
    assert result["test_metric"] > result["baseline"] - 0.05

    events = [json.loads(line) for line in out.anomalies.read_text().splitlines()]
    nan = [e for e in events if e.get("kind") == "nan"]
    # weights poisoned after step 20: step 21's loss is the first NaN; checkpoints every 7
    assert len(nan) == 1 and nan[0]["step"] == 21 and nan[0]["action"] == "rollback"
    assert any(e.get("rolled_back_to") == 14 for e in events)
    _, stream_events = read_stream(out.metrics)
    rollback = [e for e in stream_events if e["event"] == "rollback"]
    assert [(e["from_step"], e["to_step"]) for e in rollback] == [(21, 14)]
    assert rollback[0]["learning_rate"] == pytest.approx(0.0005)
    start = next(e for e in stream_events if e["event"] == "start")
    assert start["injected_faults"] == [{"nan_at_step": 20.0}]
    samples = out.system.read_text().splitlines()
    assert samples and json.loads(samples[-1])["rss_mb"] > 0

    tags = tracking.client().get_run(result["mlflow_run_id"]).data.tags
    assert tags["anomalies"] == "1" and tags["anomaly.001"].startswith("nan at step 21")

    paths = build_report(ctx, log_to_mlflow=False)
    report = json.loads(paths["training_report"].read_text())
    assert [e["kind"] for e in report["anomalies"]["events"]] == ["nan"]
    kinds = {f["kind"] for f in report["faults"]}
    assert {"injected", "rollback"} <= kinds
    assert sum(c for row in report["anomalies"]["grid"]["counts"] for c in row if c > 0) == 1
