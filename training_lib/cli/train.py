"""`train --preset NAME [--data DIR]`: what the original's train_model.py promised.

With the stack up (`make up`) the preset's DAG is triggered through the Airflow API
and followed with progress; with no stack, or with --local, the DAG runs in this
process with `dag.test()` (tasks one after another).
"""
from __future__ import annotations

import argparse
import time


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("train", help="run a preset's DAG and follow it")
    parser.add_argument("--preset", required=True, help="preset name (see `presets`)")
    parser.add_argument("--data", default=None, help="data folder (overrides data_root)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs override")
    parser.add_argument("--models", default=None, help="comma-separated subset of models")
    parser.add_argument("--force-retrain", action="store_true",
                        help="train every model even when its inputs are unchanged since a "
                             "registered version (which is otherwise reused)")
    parser.add_argument("--local", action="store_true", help="run in-process with dag.test()")
    parser.add_argument("--timeout", type=float, default=7200, help="seconds to follow the run")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from training_lib.config import load_preset
    from training_lib.stack import control
    from training_lib.stack.summary import summary_lines

    from training_lib.data.scan.roots import check_data_folder
    from training_lib.errors import DataFolderError
    from training_lib.settings import resolve_data_root

    preset = load_preset(args.preset)  # a broken or unknown preset fails here, with its message
    try:  # a missing or empty folder fails here, before a run is triggered
        check_data_folder(resolve_data_root(args.data or preset.settings.data_root))
    except DataFolderError as e:
        print(f"train: {e}")
        return 2
    conf = {"data_folder": args.data, "epochs": args.epochs,
            "models": [m.strip() for m in args.models.split(",")] if args.models else None,
            "force_retrain": True if args.force_retrain else None}
    conf = {k: v for k, v in conf.items() if v is not None}
    start = time.monotonic()
    stack_up = not args.local and control.airflow_healthy()
    if stack_up:
        run_id, state = _run_on_stack(args.preset, conf, args.timeout)
    else:
        if not args.local:
            print("no Airflow stack is up (`make up` starts one): running in-process with "
                  "dag.test(), tasks one after another")
        run_id, state = _run_in_child(args.preset, conf)
    print("\n".join(summary_lines(args.preset, run_id, stack_up=stack_up, state=state,
                                  seconds=time.monotonic() - start)))
    return 0 if state == "success" else 1


def _run_in_child(preset: str, conf: dict) -> tuple[str, str]:
    """`dag.test()` in a child process: the Airflow side lives in plugins/, not here.

    The child gets its own Airflow home and MLflow store (`env.local_environment`), so a
    stack that is up, or a shell that points at one, never shares its metadata DB or
    tracking server with the in-process run."""
    import json
    import os
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    from training_lib.errors import TrainingLibError
    from training_lib.stack.env import local_environment, local_stores_line

    env = local_environment(os.environ)
    print(local_stores_line(env), flush=True)
    with tempfile.TemporaryDirectory(prefix="tlib-local-") as tmp:
        result = Path(tmp) / "result.json"
        proc = subprocess.run([sys.executable, "-m", "tlib_airflow.local_run", preset,
                               json.dumps(conf), str(result)], env=env)
        if not result.exists():
            raise TrainingLibError(f"the in-process run of {preset!r} ended (exit code "
                                   f"{proc.returncode}) before reporting a DAG run; see above")
        outcome = json.loads(result.read_text())
    return outcome["run_id"], outcome["state"]


def _run_on_stack(dag_id: str, conf: dict, timeout: float) -> tuple[str, str]:
    from training_lib.errors import TrainingLibError
    from training_lib.stack.airflow_api import AirflowApi
    from training_lib.stack.follow import follow
    from training_lib.stack.processes import wait_until

    api = AirflowApi()
    print(f"waiting for the DAG processor to load {dag_id} ...", flush=True)
    if not wait_until(lambda: api.get_dag(dag_id) is not None, 120, interval=3, what=dag_id):
        errors = [e for e in api.import_errors() if dag_id in e.get("filename", "")]
        raise TrainingLibError(f"Airflow has not loaded DAG {dag_id!r}"
                               + (f": {errors[0].get('stack_trace', '')[-800:]}" if errors else ""))
    api.unpause(dag_id)
    run_id = api.trigger(dag_id, conf)
    print(f"triggered {dag_id} run {run_id}", flush=True)
    state = follow(lambda: api.dag_run(dag_id, run_id), lambda: api.task_instances(dag_id, run_id),
                   dag_id, run_id, timeout=timeout)
    return run_id, state
