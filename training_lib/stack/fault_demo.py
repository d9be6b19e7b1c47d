"""`make demo-faults`: run a preset on the stack, SIGKILL one model's training process in
the middle of an epoch, and show Airflow's retry resuming from the newest checkpoint.

Nothing is injected into the training code: the kill comes from outside, like the OOM
killer or a lost node would, at a step read from the model's heartbeat."""
from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from training_lib.errors import TrainingLibError
from training_lib.runs.faults import read_faults
from training_lib.runs.files import read_jsonl
from training_lib.runs.folder import RoundFolder, RunFolder


@dataclass
class Kill:
    model: str
    pid: int
    step: int
    total: int
    at: float


def kill_window(total: int, epochs: int) -> tuple[int, int, int]:
    """(first step to kill at, last step to kill at, steps per epoch): from the middle of
    the second epoch (of the only one) to half an epoch before the end of training."""
    per_epoch = max(1, total // max(1, epochs))
    if epochs >= 2:
        return per_epoch + per_epoch // 2, total - per_epoch // 2, per_epoch
    return max(1, per_epoch // 4), max(1, 3 * per_epoch // 4), per_epoch


def mid_epoch(step: int, per_epoch: int) -> bool:
    """Not on an epoch boundary (nor within one step of it)."""
    return 1 < step % per_epoch < per_epoch - 1


def kill_mid_epoch(run_dir: Path, epochs_of: Callable[[str], int], model: str | None,
                   timeout: float, say=print) -> Kill:
    """Wait for a training heartbeat (of `model`, or of whichever model trains longest),
    then SIGKILL its process at a step inside an epoch. Heartbeats come once a second, so
    the kill lands on the first beat in the window that is not on an epoch boundary."""
    deadline, last_said = time.monotonic() + timeout, 0.0
    while time.monotonic() < deadline:
        beats = [(folder.model, folder.read_heartbeat())
                 for folder in RunFolder(run_dir).rounds() if folder.index == 1]
        beats = sorted(((n, b) for n, b in beats if b and (not model or n == model)
                        and int(b.get("total") or 0) >= 8
                        and b.get("phase", "training") == "training"),
                       key=lambda nb: -int(nb[1]["total"]))
        for name, beat in beats:
            total, step = int(beat["total"]), int(beat.get("step") or 0)
            first, last, per_epoch = kill_window(total, epochs_of(name))
            if first <= step <= last and mid_epoch(step, per_epoch):
                os.kill(int(beat["pid"]), signal.SIGKILL)
                return Kill(name, int(beat["pid"]), step, total, time.time())
            if step < first and time.monotonic() - last_said > 5:
                say(f"  {name}: step {step}/{total}, will kill its training process from "
                    f"step {first} on, mid-epoch")
                last_said = time.monotonic()
        time.sleep(0.02)
    raise TrainingLibError(f"no model of {run_dir} reached a mid-epoch step within {timeout:.0f}s")


def last_step(folder: RoundFolder, beat_step: int) -> int:
    """The furthest step the dead process left a trace of (heartbeat, logged metrics)."""
    steps = [beat_step] + [int(e["step"]) for e in read_jsonl(folder.metrics)
                           if isinstance(e.get("step"), int) and "event" not in e]
    return max(steps)


def wait_resumed(folder: RoundFolder, killed_pid: int, timeout: float) -> dict[str, Any]:
    """The retry's "resumed" event (checkpoint step it restored) and its first new step."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        beat = folder.read_heartbeat()
        if beat and beat.get("pid") != killed_pid and beat.get("step"):
            resumed = [e for e in read_jsonl(folder.metrics) if e.get("event") == "resumed"]
            if resumed:
                return {"from_step": resumed[-1]["from_step"], "step": beat["step"],
                        "pid": beat["pid"], "at": time.time()}
        time.sleep(0.1)
    raise TrainingLibError(f"the retry of {folder.path} did not resume within {timeout:.0f}s")


def run_fault_demo(preset: str, conf: dict[str, Any], model: str | None,
                   timeout: float = 3600) -> tuple[str, str]:
    from training_lib.config import load_preset
    from training_lib.runs.context import run_dir_for
    from training_lib.stack.airflow_api import AirflowApi
    from training_lib.stack.follow import follow
    from training_lib.stack.processes import wait_until

    settings = load_preset(preset).with_overrides(epochs=conf.get("epochs")).settings
    api = AirflowApi()
    if not wait_until(lambda: api.get_dag(preset) is not None, 120, interval=3, what=preset):
        raise TrainingLibError(f"Airflow has not loaded DAG {preset!r}")
    api.unpause(preset)
    run_id = api.trigger(preset, conf)
    run_dir = run_dir_for(preset, run_id)
    print(f"triggered {preset} run {run_id}; waiting for a training task to get mid-epoch",
          flush=True)
    kill = kill_mid_epoch(run_dir, lambda name: settings.for_model(name, "epochs"), model,
                          timeout=900, say=lambda line: print(line, flush=True))
    folder = RunFolder(run_dir).round(kill.model, 1)
    reached = last_step(folder, kill.step)
    print(f"SIGKILL -> {kill.model} training process (pid {kill.pid}) at step "
          f"{reached}/{kill.total}", flush=True)
    resumed = wait_resumed(folder, kill.pid, timeout=900)
    print(f"retry resumed: new process pid {resumed['pid']} restored the checkpoint of step "
          f"{resumed['from_step']} (the dead process's last trace: step {reached}; "
          f"checkpoint_interval {settings.checkpoint_interval}), reached step "
          f"{resumed['step']} {resumed['at'] - kill.at:.1f}s after the kill (retry delay "
          f"{settings.retry_delay_seconds:g}s)", flush=True)
    state = follow(lambda: api.dag_run(preset, run_id), lambda: api.task_instances(preset, run_id),
                   preset, run_id, timeout=timeout)
    print_outcome(run_dir, kill.model)
    return run_id, state


def print_outcome(run_dir: Path, model: str) -> None:
    """The faults the run recorded (first line of each error) and how `model` finished."""
    for fault in read_faults(run_dir):
        first_line = (str(fault.get("error") or "").splitlines() or [""])[0]
        fault["error"] = first_line.split("; last output")[0][:120]
        print("fault recorded: " + ", ".join(f"{k}={fault.get(k)}" for k in
                                              ("model", "try", "host", "device", "kind",
                                               "step", "error")))
    result = RunFolder(run_dir).round(model, 1).read_result()
    if result is not None:
        print(f"{model}: finished on try {result.get('try_number')}, resumed from step "
              f"{result.get('resumed_from_step')}, ran {result.get('steps_run')} more steps to "
              f"step {result.get('global_step')}; test {result.get('metric')} "
              f"{result.get('test_metric', float('nan')):.3f}")
