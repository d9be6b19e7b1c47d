"""The fault demo's killer: it SIGKILLs the training process named by a heartbeat once the
step is mid-epoch (never before, never in the finishing phase), and finds the retry's
resume point from the new process's heartbeat and "resumed" event."""
from __future__ import annotations

import json
import signal
import subprocess
import threading
import time

import pytest

from training_lib.errors import TrainingLibError
from training_lib.runs.folder import RoundFolder, RunFolder
from training_lib.stack.fault_demo import kill_mid_epoch, kill_window, last_step, wait_resumed


def _beat(folder: RoundFolder, pid: int, step: int, total: int = 100,
          phase: str = "training") -> None:
    folder.path.mkdir(parents=True, exist_ok=True)
    folder.heartbeat.write_text(json.dumps(
        {"step": step, "total": total, "pid": pid, "phase": phase}))


def test_the_window_starts_mid_second_epoch_and_ends_before_training_does():
    assert kill_window(total=100, epochs=4) == (37, 88, 25)  # 25 per epoch
    assert kill_window(total=100, epochs=1) == (25, 75, 100)


def test_the_process_is_killed_once_it_is_mid_epoch(tmp_path):
    folder = RunFolder(tmp_path).round("logic_model", 1)
    victim = subprocess.Popen(["sleep", "60"])
    try:
        _beat(folder, victim.pid, step=10)

        def advance() -> None:  # a training process beating once in a while
            for step in (30, 60, 74, 100, 81, 90):
                time.sleep(0.3)
                _beat(folder, victim.pid, step, total=200)

        threading.Thread(target=advance, daemon=True).start()
        kill = kill_mid_epoch(tmp_path, lambda _: 4, None, timeout=10, say=lambda _: None)
        assert victim.wait(timeout=5) == -signal.SIGKILL
        assert kill.model == "logic_model" and kill.pid == victim.pid
        # 50 steps per epoch, window from step 75: 100 is an epoch boundary, 81 is not
        assert kill.step == 81
    finally:
        victim.kill()


def test_a_model_past_the_window_or_finishing_is_left_alone(tmp_path):
    victim = subprocess.Popen(["sleep", "60"])
    try:
        _beat(RunFolder(tmp_path).round("late", 1), victim.pid, step=97)
        _beat(RunFolder(tmp_path).round("saving", 1), victim.pid, step=80, phase="finishing")
        with pytest.raises(TrainingLibError, match="no model .* reached a mid-epoch step"):
            kill_mid_epoch(tmp_path, lambda _: 2, None, timeout=0.5, say=lambda _: None)
        assert victim.poll() is None
    finally:
        victim.kill()


def test_the_resume_point_comes_from_the_new_process(tmp_path):
    folder = RunFolder(tmp_path).round("logic_model", 1)
    _beat(folder, pid=111, step=40)
    with pytest.raises(TrainingLibError, match="did not resume"):
        wait_resumed(folder, killed_pid=111, timeout=0.3)
    folder.metrics.write_text(
        json.dumps({"step": 35, "loss": 0.5}) + "\n" +
        json.dumps({"event": "resumed", "from_step": 35}) + "\n")
    _beat(folder, pid=222, step=38)
    resumed = wait_resumed(folder, killed_pid=111, timeout=2)
    assert (resumed["from_step"], resumed["pid"], resumed["step"]) == (35, 222, 38)


def test_the_last_trace_of_a_dead_process_is_its_furthest_step(tmp_path):
    folder = RunFolder(tmp_path).round("logic_model", 1)
    folder.path.mkdir(parents=True)
    folder.metrics.write_text("\n".join(json.dumps(x) for x in (
        {"step": 40, "loss": 0.5}, {"step": 60, "loss": 0.4}, {"event": "start", "step": 99})))
    assert last_step(folder, beat_step=55) == 60
    assert last_step(folder, beat_step=70) == 70
