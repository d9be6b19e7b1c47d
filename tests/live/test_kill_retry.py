"""SIGKILL of the training process mid-epoch under the real scheduler (LocalExecutor):
Airflow retries the task, the retry resumes from the checkpoint, and the final weights
match an uninterrupted run; the fault is in the run store."""
from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

pytestmark = pytest.mark.slow


def _weights(dag_id: str, run_id: str) -> list[np.ndarray]:
    from training_lib.models.saving import load_model
    from training_lib.runs.context import run_dir_for
    from training_lib.runs.folder import RunFolder

    path = RunFolder(run_dir_for(dag_id, run_id)).round("logic_model", 1).model_file
    return load_model(path).get_weights()


def test_sigkill_mid_epoch_is_retried_and_resumes_exactly(live_stack):
    from training_lib.runs.context import run_dir_for
    from training_lib.runs.faults import read_faults
    from training_lib.runs.folder import RunFolder
    from training_lib.training.checkpoints import committed_steps

    reference = live_stack.trigger("resume_logic")
    assert live_stack.wait_run("resume_logic", reference) == "success"
    ref = RunFolder(run_dir_for("resume_logic", reference)).round("logic_model", 1).read_result()
    per_epoch = ref["global_step"] // ref["epochs"]

    run_id = live_stack.trigger("resume_logic", {"force_retrain": True})  # same inputs: train
    folder = RunFolder(run_dir_for("resume_logic", run_id)).round("logic_model", 1)
    # the step: the heartbeat's (at most one a second) or the newest checkpoint's (every 7
    # steps), whichever is further; the rest of this small run can take under a second
    deadline, killed = time.time() + 300, None
    while time.time() < deadline and killed is None:
        beat = folder.read_heartbeat() or {}
        step = max([beat.get("step", 0), *committed_steps(folder.checkpoints)])
        if beat.get("pid") and step >= per_epoch + 3:  # inside the second epoch
            os.kill(beat["pid"], signal.SIGKILL)
            killed = step
        time.sleep(0.02)
    assert killed, "training never reached the second epoch"
    assert live_stack.wait_run("resume_logic", run_id) == "success"
    train = live_stack.states("resume_logic", run_id)["logic_model.train"]
    assert train["try_number"] == 2
    result = folder.read_result()
    assert result["try_number"] == 2 and result["resumed_from_step"] is not None
    # at most one interval (7) lost, plus an asynchronous write in flight at the kill; the
    # heartbeat that named the kill step is up to 1 s old, so the checkpoint may be newer
    assert killed - 2 * 7 - 1 <= result["resumed_from_step"]
    assert result["steps_run"] == ref["global_step"] - result["resumed_from_step"]
    for a, b in zip(_weights("resume_logic", reference), _weights("resume_logic", run_id)):
        np.testing.assert_allclose(a, b, atol=1e-6)
    faults = [f for f in read_faults(run_dir_for("resume_logic", run_id))
              if f.get("model") == "logic_model"]
    assert faults and faults[0]["kind"] == "killed" and faults[0]["try"] == 1
