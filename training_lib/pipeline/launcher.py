"""Start the training worker process under a resource plan and watch it.

The worker runs in its own process (and process group) so that the plan's
environment applies before the framework loads, memory is returned when it ends,
and a stalled or killed run fails cleanly:

- its output is streamed line by line to `log_line` (the Airflow task log);
- no heartbeat progress within `stall_timeout` -> the group is killed and
  `TrainingStalled` raised (the task's retry then resumes from the checkpoint);
- a non-zero exit raises `WorkerExited` (signal or exit code) with the last lines of
  output, library start-up noise left out (`pipeline/noise.py`).
"""
from __future__ import annotations

import collections
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

from training_lib.errors import TrainingError
from training_lib.pipeline.noise import is_noise
from training_lib.resources.apply import environment_for
from training_lib.resources.plan import ModelPlan
from training_lib.runs.folder import RunFolder

WORKER_MODULE = "training_lib.pipeline.worker"
STARTUP_GRACE_S = 120.0  # imports and data loading happen before the first step
FINISHING_LIMIT_S = 900.0  # evaluation, saving and logging the model after the last step
TAIL_LINES = 40  # lines of output (noise left out) an exit error carries


class TrainingStalled(TrainingError):
    """The worker stayed alive but completed no step within the stall timeout."""


class WorkerExited(TrainingError):
    """The worker process ended with a non-zero status: killed by `signal`, or `exit_code`.
    The message's first line says which; `output` holds its last lines without library
    start-up noise (`pipeline/noise.py`)."""

    def __init__(self, model: str, returncode: int, output: list[str]) -> None:
        self.signal = -returncode if returncode < 0 else None
        self.exit_code = returncode if returncode > 0 else None
        self.output = output
        if self.signal is not None:
            try:
                name = f" ({signal.Signals(self.signal).name})"
            except ValueError:
                name = ""
            how = f"killed by signal {self.signal}{name}"
        else:
            how = f"exited with code {returncode}"
        super().__init__(f"{model}: training process {how}; last output:\n" + "\n".join(output))


def run_worker(run_dir: Path, model: str, plan: ModelPlan, *, round_index: int = 1,
               try_number: int = 1, stall_timeout: float = 300.0,
               log_line: Callable[[str], None] = print,
               extra_env: dict[str, str] | None = None) -> dict[str, Any]:
    folder = RunFolder(run_dir).round(model, round_index)
    folder.result.unlink(missing_ok=True)
    folder.heartbeat.unlink(missing_ok=True)
    if plan.mps:
        from training_lib.resources import mps
        from training_lib.resources.apply import mps_pipe_dir

        mps.ensure_daemon(mps_pipe_dir(plan), ",".join(str(i) for i in plan.gpu_indices))
    env = {**os.environ, **environment_for(plan, _gpu_total_mb(plan)), **(extra_env or {})}
    # a down MLflow server must fail fast in the worker (its metrics are queued, not lost)
    env.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    env.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    cmd = [sys.executable, "-m", WORKER_MODULE, str(run_dir), model,
           "--round", str(round_index), "--try", str(try_number)]
    tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, start_new_session=True, bufsize=1)
    reader = threading.Thread(target=_pump, args=(proc, tail, log_line), daemon=True)
    reader.start()
    started = time.monotonic()
    last_step, last_progress = -1, started
    try:
        while proc.poll() is None:
            time.sleep(0.5)
            beat = folder.read_heartbeat()
            now = time.monotonic()
            if beat and beat.get("step", -1) > last_step:
                last_step, last_progress = beat["step"], now
            elif beat and beat.get("paused") and beat.get("time", 0) > time.time() - 30:
                last_progress = now  # paused on purpose (low disk) and still alive
            limit = stall_timeout + (STARTUP_GRACE_S if last_step <= 0 else 0)
            if beat and beat.get("phase") == "finishing":
                limit = max(limit, FINISHING_LIMIT_S)
            if now - last_progress > limit:
                _kill_group(proc)
                raise TrainingStalled(
                    f"{model}: no training step completed for {now - last_progress:.0f}s "
                    f"(stall timeout {stall_timeout:.0f}s, last step {max(last_step, 0)}); "
                    f"worker pid {proc.pid} killed")
    except BaseException:
        _kill_group(proc)
        raise
    finally:
        reader.join(timeout=5)
    if proc.returncode != 0:
        raise WorkerExited(model, proc.returncode, list(tail)[-TAIL_LINES:])
    try:
        result = folder.read_result()
    except (OSError, ValueError) as e:
        raise TrainingError(f"{model}: worker exited 0 but wrote no readable {folder.result}: "
                            f"{e}") from e
    if result is None:
        raise TrainingError(f"{model}: worker exited 0 but wrote no {folder.result}")
    return result


def _gpu_total_mb(plan: ModelPlan) -> int | None:
    """Total memory of the plan's first GPU (for JAX's memory fraction), from NVML."""
    if not plan.gpu_indices:
        return None
    from training_lib.resources.probe import probe_gpus

    gpus, _ = probe_gpus()
    return next((g.memory_total_mb for g in gpus if g.index == plan.gpu_indices[0]), None)


def _pump(proc: subprocess.Popen, tail: collections.deque, log_line: Callable[[str], None]) -> None:
    """Every line to the task log (see `_for_log`); the tail (the summary an error shows)
    without noise."""
    assert proc.stdout is not None
    banners_seen: set[str] = set()
    for raw in proc.stdout:
        line = _for_log(raw.rstrip("\n"), banners_seen)
        if line is None:
            continue
        if line.strip() and not is_noise(line):
            tail.append(line)
        log_line(line)


_TERMINAL_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]|[\b\r]")
_GLOG_STAMP = re.compile(r"^[IWEF]\d{4} [\d:.]+\s+\d+\s+")  # severity, date, time, thread


def _for_log(line: str, banners_seen: set[str]) -> str | None:
    """A worker's line as the task log shows it: terminal escapes (Keras' progress-bar
    colours and cursor moves) removed, and a start-up banner line (`pipeline/noise.py`)
    that was already logged, bar its time stamp, dropped (None): TensorFlow prints its
    oneDNN and CPU-feature notes once per import, several times per worker."""
    line = _TERMINAL_ESCAPE.sub("", line)
    if is_noise(line):
        key = _GLOG_STAMP.sub("", line.strip())
        if key in banners_seen:
            return None
        banners_seen.add(key)
    return line


def _kill_group(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    proc.wait(timeout=30)
