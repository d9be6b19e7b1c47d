"""Recovery from killed trainings under the real scheduler (airflow standalone,
LocalExecutor) on a stack of its own (spare ports, temporary store).

One run of a logic-model preset (checkpoint every 7 steps, retry delay 2 s, training
slowed to ~20 steps/s so kills land mid-epoch); the training process is SIGKILLed at
several points, each in a new try. For every kill: work lost in steps (step at the kill
minus the checkpoint the retry resumed from), and the time from the kill to the first
step the retry completes, minus the retry delay (the resume overhead: failure detection,
rescheduling, process start, imports, data load, restore).
Goal: work lost <= one checkpoint interval (7 steps); overhead <= 10 s beyond the delay
(the delay Airflow actually applied, with its exponential backoff, read from the task's
tries: the overhead is kill-to-resumed minus the gap between the failed try's end and
the next try's start).

Second arm, "scratch": the same run and kills, but each retry restarts the task from the
beginning (the checkpoints are deleted right after every kill, so the retry finds none),
which is what a task without checkpoints does. The work saved is then a ratio:
1 - (steps lost with checkpoints) / (steps lost restarting), and the run's wall time
of both arms is reported.

    python bench/recovery.py [--arms checkpoints,scratch]
"""
from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from training_lib.runs.folder import RoundFolder

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]
INTERVAL, RETRY_DELAY, KILL_AT = 7, 2.0, (23, 61, 102)
PRESET = f"""description: recovery bench (logic model, checkpoints every {INTERVAL} steps)
target_models: [logic_model]
epochs: 6
batch_size: 8
checkpoint_interval: {INTERVAL}
use_gpu: false
retries: {len(KILL_AT) + 1}
retry_delay_seconds: {RETRY_DELAY}
"""


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arms", default="checkpoints,scratch")
    arms = parser.parse_args().arms.split(",")
    root = Path(tempfile.mkdtemp(prefix="bench-recovery-"))
    (root / "presets").mkdir()
    (root / "presets" / "recovery_bench.yaml").write_text(PRESET)
    (root / "dags").mkdir()
    (root / "dags" / "recovery_bench.py").write_text(
        "from tlib_airflow.dag_builder import build_preset_dag\n\n"
        "dag = build_preset_dag(__file__)\n")
    for key in [k for k in os.environ if k.startswith("AIRFLOW__")]:
        del os.environ[key]
    os.environ.update({"TLIB_VAR_DIR": str(root / "var"), "AIRFLOW_HOME": str(root / "var" / "airflow"),
                       "TLIB_DAGS_DIR": str(root / "dags"), "TLIB_PRESETS_DIR": str(root / "presets"),
                       "TLIB_AIRFLOW_PORT": "18180", "TLIB_MLFLOW_PORT": "15100",
                       "TLIB_INJECT": "delay_per_step=0.05",
                       "TLIB_INJECT_TRIES": ",".join(str(i) for i in range(1, 10))})
    from tests.fixtures.tiny_data import write_tiny_data  # real digits/records, small
    from training_lib.stack import control
    from training_lib.stack.airflow_api import AirflowApi
    from training_lib.stack.processes import wait_until

    data = write_tiny_data(root / "data", per_class=1, n_records=600)
    assert control.up(timeout=300) == 0, "stack did not start"
    results = {}
    try:
        api = AirflowApi()
        assert wait_until(lambda: api.get_dag("recovery_bench") is not None, 120, 2, "dag")
        api.unpause("recovery_bench")
        for arm in arms:
            results[arm] = run_arm(api, data, scratch=arm == "scratch")
    finally:
        control.down()
    for arm, (rows, state, wall) in results.items():
        print(f"\n{arm}: run {state} in {wall:.0f} s\n{'kill at':>8} {'resumed from':>13} "
              f"{'lost steps':>11} {'kill->resumed':>14} {'retry gap':>10} {'rest':>6}")
        for r in rows:
            print(f"{r['kill_step']:>8} {r['resumed_from']:>13} {r['lost_steps']:>11} "
                  f"{r['kill_to_resumed_s']:>13.1f}s {r.get('retry_gap_s', 0):>9.1f}s "
                  f"{r.get('resume_s', 0):>5.1f}s")
    print("retry gap: from the failed try's end to the next try's start (Airflow's retry delay"
          " with exponential backoff, plus scheduling); rest: failure detection, task start,"
          " worker process start, imports, data load, restore, first step")
    summary = {}
    for arm, (rows, state, wall) in results.items():
        summary[arm] = {"run_state": state, "wall_s": round(wall, 1),
                        "lost_steps": sum(r["lost_steps"] for r in rows),
                        "max_lost_steps": max(r["lost_steps"] for r in rows),
                        "max_overhead_s": max(r["resume_s"] for r in rows)}
    out = {"bench": "recovery", "kills": len(KILL_AT), "checkpoint_interval": INTERVAL,
           "retry_delay_s": RETRY_DELAY, "arms": summary}
    ours, scratch = summary.get("checkpoints"), summary.get("scratch")
    if ours:
        out.update(run_state=ours["run_state"], max_lost_steps=ours["max_lost_steps"],
                   max_overhead_s=ours["max_overhead_s"],
                   goal_lost=ours["max_lost_steps"] <= INTERVAL,
                   goal_overhead=ours["max_overhead_s"] <= 10)
    if ours and scratch and scratch["lost_steps"]:
        out["work_saved_ratio"] = round(1 - ours["lost_steps"] / scratch["lost_steps"], 3)
        out["wall_time_ratio"] = round(ours["wall_s"] / scratch["wall_s"], 3)
        print(f"checkpoints lost {ours['lost_steps']} steps over {len(KILL_AT)} kills, restarting"
              f" from scratch {scratch['lost_steps']}: {out['work_saved_ratio']:.1%} of the lost "
              f"work saved; wall time {ours['wall_s']:.0f} s vs {scratch['wall_s']:.0f} s")
    print(f"retry delay {RETRY_DELAY}s, checkpoint interval {INTERVAL}")
    print(json.dumps(out))


def run_arm(api, data: Path, scratch: bool) -> tuple[list[dict], str, float]:
    """One run with the kills; `scratch`: delete the checkpoints after each kill, so every
    retry starts from step 0. (rows, final run state, seconds from trigger to the end)."""
    import shutil

    from training_lib.runs.context import run_dir_for
    from training_lib.runs.folder import RunFolder

    started = time.time()
    # force_retrain: the second arm has the first one's data and preset, and would
    # otherwise reuse its registered version without training
    run_id = api.trigger("recovery_bench", {"data_folder": str(data), "force_retrain": True})
    folder = RunFolder(run_dir_for("recovery_bench", run_id)).round("logic_model", 1)
    rows, killed_pid = [], None
    for kill_at in KILL_AT:
        beat = _wait_beat(folder, lambda b: b.get("step", 0) >= kill_at
                          and b.get("pid") != killed_pid, 600)
        killed_step, killed_pid = beat["step"], beat["pid"]
        os.kill(killed_pid, signal.SIGKILL)
        killed = time.time()
        if scratch:  # before the retry (>= RETRY_DELAY away) looks for a checkpoint
            shutil.rmtree(folder.checkpoints, ignore_errors=True)
        resumed_beat = _wait_beat(folder, lambda b: b.get("pid") != killed_pid
                                  and b.get("step", 0) > 0, 600)
        resumed_at = time.time()
        checkpoint = 0 if scratch else _resumed_from(folder, killed_pid)
        rows.append({"kill_step": killed_step, "resumed_from": checkpoint,
                     "lost_steps": killed_step - checkpoint if checkpoint is not None else None,
                     "kill_to_resumed_s": round(resumed_at - killed, 1),
                     "first_step_after": resumed_beat["step"]})
        print(json.dumps({"arm": "scratch" if scratch else "checkpoints", **rows[-1]}),
              flush=True)
    state = _wait_run(api, run_id)
    wall = time.time() - started
    if scratch and _resumed_from(folder, -1, attempts=1) is not None:
        raise SystemExit("scratch arm: a retry resumed from a checkpoint; the deletion came late")
    tries = api._request("GET", f"/api/v2/dags/recovery_bench/dagRuns/{run_id}/taskInstances/"
                         "logic_model.train/tries")["task_instances"]
    starts = {t["try_number"]: t["start_date"] for t in tries}
    ends = {t["try_number"]: t["end_date"] for t in tries}
    for k, row in enumerate(rows, start=1):  # kill k ended try k; try k+1 resumed
        gap = _seconds(starts.get(k + 1)) - _seconds(ends.get(k))
        row["retry_gap_s"] = round(gap, 1)  # Airflow: failure recorded -> next try starts
        row["resume_s"] = round(row["kill_to_resumed_s"] - gap, 1)
    return rows, state, wall


def _seconds(stamp: str | None) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() if stamp else 0.0


def _wait_beat(folder: RoundFolder, ok, timeout: float) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        beat = folder.read_heartbeat()
        if beat and ok(beat):
            return beat
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for training progress in {folder}")


def _resumed_from(folder: RoundFolder, killed_pid: int, attempts: int = 100) -> int | None:
    """The checkpoint step the try after the kill restored (its "resumed" event)."""
    for _ in range(attempts):
        for line in reversed(folder.metrics.read_text().splitlines()):
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if item.get("event") == "resumed":
                return item["from_step"]
        time.sleep(0.1)
    return None


def _wait_run(api, run_id: str) -> str:
    deadline = time.time() + 900
    while time.time() < deadline:
        state = api.dag_run("recovery_bench", run_id)["state"]
        if state in ("success", "failed"):
            return state
        time.sleep(2)
    return "timeout"


if __name__ == "__main__":
    main()
