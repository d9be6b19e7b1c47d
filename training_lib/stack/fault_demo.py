"""`make demo-faults`: run a preset on the stack, SIGKILL one model's training process in
the middle of an epoch, and show Airflow's retry resuming from the newest checkpoint.

Nothing is injected into the training code: the kill comes from outside, like the OOM
killer or a lost node would, at a step read from the model's heartbeat."""
from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from training_lib.errors import TrainingLibError


@dataclass
class Kill:
    model: str
    pid: int
    step: int
    total: int
    at: float


def read_beat(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def kill_step(total: int, epochs: int) -> int:
    """The middle of the second epoch (of the first, for one-epoch runs). Heartbeats come
    once a second, so the kill lands in [this step, this step + a third of an epoch]."""
    per_epoch = max(1, total // max(1, epochs))
    return per_epoch + per_epoch // 2 if epochs >= 2 else max(1, per_epoch // 2)


def kill_mid_epoch(run_dir: Path, epochs_of: Callable[[str], int], model: str | None,
                   timeout: float, say=print) -> Kill:
    """Wait for a training heartbeat (of `model`, or of the first model that trains long
    enough to be hit mid-epoch), then SIGKILL its process at `kill_step`."""
    deadline, last_said = time.monotonic() + timeout, 0.0
    while time.monotonic() < deadline:
        for path in sorted(run_dir.glob("models/*/round_1/heartbeat.json")):
            name, beat = path.parent.parent.name, read_beat(path)
            total = int(beat.get("total") or 0)
            if not beat or (model and name != model) or total < 8:
                continue
            target = kill_step(total, epochs_of(name))
            per_epoch = max(1, total // max(1, epochs_of(name)))
            step = int(beat.get("step") or 0)
            if step > target + per_epoch // 3 or beat.get("phase", "training") != "training":
                continue  # too late for this one (beats come 1/s); another may still be early
            if step >= target:
                os.kill(int(beat["pid"]), signal.SIGKILL)
                return Kill(name, int(beat["pid"]), step, total, time.time())
            if time.monotonic() - last_said > 5:
                say(f"  {name}: step {step}/{total}, will kill its training process at step "
                    f"{target} (mid-epoch)")
                last_said = time.monotonic()
        time.sleep(0.02)
    raise TrainingLibError(f"no model of {run_dir} reached a mid-epoch step within {timeout:.0f}s")


def wait_resumed(folder: Path, killed_pid: int, timeout: float) -> dict[str, Any]:
    """The retry's "resumed" event (checkpoint step it restored) and its first new step."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        beat = read_beat(folder / "heartbeat.json")
        if beat and beat.get("pid") != killed_pid and beat.get("step"):
            resumed = [e for e in _events(folder / "metrics.jsonl") if e.get("event") == "resumed"]
            if resumed:
                return {"from_step": resumed[-1]["from_step"], "step": beat["step"],
                        "pid": beat["pid"], "at": time.time()}
        time.sleep(0.1)
    raise TrainingLibError(f"the retry of {folder} did not resume within {timeout:.0f}s")


def _events(path: Path) -> list[dict[str, Any]]:
    out = []
    for line in path.read_text().splitlines() if path.exists() else []:
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict) and "event" in item:
            out.append(item)
    return out


def run_fault_demo(preset: str, conf: dict[str, Any], model: str | None,
                   timeout: float = 3600) -> tuple[str, str]:
    from training_lib.config import load_preset
    from training_lib.pipeline.run import run_dir_for
    from training_lib.stack.airflow_api import AirflowApi
    from training_lib.stack.follow import follow
    from training_lib.stack.processes import wait_until
    from training_lib.training.fault_log import read_faults

    settings = load_preset(preset).settings
    run_epochs = conf.get("epochs") or settings.epochs

    def epochs_of(name: str) -> int:
        own = settings.models.get(name)
        return own.epochs if own and own.epochs else run_epochs
    api = AirflowApi()
    if not wait_until(lambda: api.get_dag(preset) is not None, 120, interval=3, what=preset):
        raise TrainingLibError(f"Airflow has not loaded DAG {preset!r}")
    api.unpause(preset)
    run_id = api.trigger(preset, conf)
    run_dir = run_dir_for(preset, run_id)
    print(f"triggered {preset} run {run_id}; waiting for a training task to get mid-epoch",
          flush=True)
    kill = kill_mid_epoch(run_dir, epochs_of, model, timeout=900, say=lambda s: print(s, flush=True))
    print(f"SIGKILL -> {kill.model} training process (pid {kill.pid}) at step "
          f"{kill.step}/{kill.total}", flush=True)
    folder = run_dir / "models" / kill.model / "round_1"
    resumed = wait_resumed(folder, kill.pid, timeout=900)
    print(f"retry resumed: new process pid {resumed['pid']} restored the checkpoint of step "
          f"{resumed['from_step']} (work lost: {kill.step - resumed['from_step']} steps), "
          f"reached step {resumed['step']} {resumed['at'] - kill.at:.1f}s after the kill "
          f"(retry delay {settings.retry_delay_seconds:g}s)", flush=True)
    state = follow(lambda: api.dag_run(preset, run_id), lambda: api.task_instances(preset, run_id),
                   preset, run_id, timeout=timeout)
    for fault in read_faults(run_dir):
        print("fault recorded: " + ", ".join(f"{k}={v}" for k, v in fault.items()
                                              if k in ("model", "try", "host", "device", "kind",
                                                       "step", "error")))
    result = json.loads((folder / "result.json").read_text()) if (folder / "result.json").exists() \
        else {}
    if result:
        print(f"{kill.model}: finished on try {result.get('try_number')}, resumed from step "
              f"{result.get('resumed_from_step')}, ran {result.get('steps_run')} more steps to "
              f"step {result.get('global_step')}; test {result.get('metric')} "
              f"{result.get('test_metric', float('nan')):.3f}")
    return run_id, state
