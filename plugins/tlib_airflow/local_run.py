"""Run a preset's DAG in this process with `dag.test()` (no scheduler needed).

`python -m training_lib train --local` starts this module as a child process
(`python -m tlib_airflow.local_run PRESET CONF_JSON RESULT_FILE`), so the CLI, which is
plain `training_lib`, never imports Airflow itself.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def ensure_metadata_db() -> None:
    """Create/upgrade the Airflow metadata DB of AIRFLOW_HOME (idempotent, ~20 s first time)."""
    home = Path(os.environ["AIRFLOW_HOME"])
    marker = home / ".db_migrated"
    if marker.exists():
        return
    home.mkdir(parents=True, exist_ok=True)
    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow, "db", "migrate"], check=True, stdout=subprocess.DEVNULL)
    marker.touch()


def run_in_process(preset_name: str, conf: dict[str, Any]) -> tuple[str, str]:
    from training_lib.stack.env import apply_environment

    apply_environment()
    ensure_metadata_db()
    from tlib_airflow.dag_builder import build_dag
    from training_lib.config import load_preset

    dag = build_dag(load_preset(preset_name))
    dag_run = dag.test(run_conf=conf)
    return dag_run.run_id, str(getattr(dag_run.state, "value", dag_run.state))


def main(argv: list[str] | None = None) -> int:
    preset_name, conf_json, result_file = (argv if argv is not None else sys.argv[1:])
    run_id, state = run_in_process(preset_name, json.loads(conf_json))
    Path(result_file).write_text(json.dumps({"run_id": run_id, "state": state}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
