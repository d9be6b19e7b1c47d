"""A real embedded stack (airflow standalone: scheduler, API server, LocalExecutor; and
an MLflow server) on spare ports and a temporary store, started and stopped by PID."""
from __future__ import annotations

import os
import shutil

import pytest

from tests.fixtures.live_stack import DAG_FILE, FIXTURES, LiveStack
from tests.fixtures.tiny_data import write_tiny_data


@pytest.fixture(scope="package")
def live_stack(tmp_path_factory):
    root = tmp_path_factory.mktemp("live")
    dags, presets = root / "dags", root / "presets"
    dags.mkdir()
    presets.mkdir()  # a copy: a test may add a preset of its own (LiveStack.add_preset)
    for preset in (FIXTURES / "presets").glob("*.yaml"):
        shutil.copy(preset, presets / preset.name)
        if preset.stem != "broken_types":
            (dags / f"{preset.stem}.py").write_text(DAG_FILE)
    saved = dict(os.environ)
    os.environ.update({
        "TLIB_VAR_DIR": str(root / "var"), "AIRFLOW_HOME": str(root / "var" / "airflow"),
        "TLIB_DAGS_DIR": str(dags), "TLIB_PRESETS_DIR": str(presets),
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
        from training_lib.stack.env import mlflow_login_environment

        os.environ.update(mlflow_login_environment())  # the pipeline's service login
        yield LiveStack(AirflowApi(), write_tiny_data(root / "data"), presets, dags)
    finally:
        control.down()
        os.environ.clear()
        os.environ.update(saved)
