"""A real embedded stack (airflow standalone: scheduler, API server, LocalExecutor; and
an MLflow server) on spare ports and a temporary store, started and stopped by PID."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.fixtures.tiny_data import write_tiny_data

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DAG_FILE = ('from tlib_airflow.dag_builder import build_preset_dag\n\n'
            'dag = build_preset_dag(__file__)\n')


class LiveStack:
    def __init__(self, api, data: Path) -> None:
        self.api = api
        self.data = data

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        from training_lib.stack.processes import wait_until

        assert wait_until(lambda: self.api.get_dag(dag_id) is not None, 120, 2, dag_id), \
            self.api.import_errors()
        self.api.unpause(dag_id)
        return self.api.trigger(dag_id, {"data_folder": str(self.data), **(conf or {})})

    def states(self, dag_id: str, run_id: str) -> dict[str, dict]:
        return {t["task_id"]: t for t in self.api.task_instances(dag_id, run_id)}

    def wait_run(self, dag_id: str, run_id: str, timeout: float = 600) -> str:
        deadline = time.time() + timeout
        while time.time() < deadline:
            state = self.api.dag_run(dag_id, run_id)["state"]
            if state in ("success", "failed"):
                return state
            time.sleep(2)
        raise AssertionError(f"{dag_id} {run_id} still running after {timeout}s: "
                             f"{ {k: v['state'] for k, v in self.states(dag_id, run_id).items()} }")

    def set_pool(self, name: str, slots: int) -> None:
        from training_lib.stack.pools import upsert_pools

        upsert_pools(self.api, {name: slots})


@pytest.fixture(scope="package")
def live_stack(tmp_path_factory):
    root = tmp_path_factory.mktemp("live")
    dags = root / "dags"
    dags.mkdir()
    for preset in (FIXTURES / "presets").glob("*.yaml"):
        if preset.stem != "broken_types":
            (dags / f"{preset.stem}.py").write_text(DAG_FILE)
    saved = dict(os.environ)
    os.environ.update({
        "TLIB_VAR_DIR": str(root / "var"), "AIRFLOW_HOME": str(root / "var" / "airflow"),
        "TLIB_DAGS_DIR": str(dags), "TLIB_PRESETS_DIR": str(FIXTURES / "presets"),
        "TLIB_AIRFLOW_PORT": "18080", "TLIB_MLFLOW_PORT": "15000",
        "TLIB_MAX_TRAINING_SLOTS": "1",
    })
    for key in [k for k in os.environ if k.startswith("AIRFLOW__")]:
        del os.environ[key]  # the stack builds its own from stack_environment()
    from training_lib.stack import control
    from training_lib.stack.airflow_api import AirflowApi

    try:
        assert control.up(timeout=300) == 0, (root / "var" / "logs" / "airflow.log").read_text()[-3000:]
        os.environ["MLFLOW_TRACKING_URI"] = "http://127.0.0.1:15000"
        yield LiveStack(AirflowApi(), write_tiny_data(root / "data"))
    finally:
        control.down()
        os.environ.clear()
        os.environ.update(saved)
