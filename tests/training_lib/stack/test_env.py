"""`train --local` is isolated: its child never uses a running stack's stores."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from training_lib import settings
from training_lib.cli import train
from training_lib.stack import env as stack_env

STACK = {  # what a shell next to a running stack (or a task of it) holds
    "AIRFLOW_HOME": "/srv/stack/airflow",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql+psycopg2://airflow@db/airflow",
    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": "http://127.0.0.1:8080/execution/",
    "MLFLOW_TRACKING_URI": "http://127.0.0.1:5000",
    "MLFLOW_REGISTRY_URI": "http://127.0.0.1:5000",
    "MLFLOW_TRACKING_USERNAME": "pipeline",
    "MLFLOW_TRACKING_PASSWORD": "secret",
    "TLIB_MLFLOW_UI_URL": "http://localhost:5000",
}


@pytest.fixture
def stack_shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    var = tmp_path / "var"
    monkeypatch.setenv("TLIB_VAR_DIR", str(var))
    monkeypatch.setenv("PATH_MARKER", "kept")
    for key, value in STACK.items():
        monkeypatch.setenv(key, value)
    return var.resolve()


def _assert_isolated(env: dict[str, str], var: Path) -> None:
    home = var / "local" / "airflow"
    assert env["AIRFLOW_HOME"] == str(home) != STACK["AIRFLOW_HOME"]
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{home / 'airflow.db'}"
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"].startswith(str(home))
    assert env["MLFLOW_TRACKING_URI"] == f"sqlite:///{var / 'local' / 'mlflow' / 'mlflow.db'}"
    assert env["TLIB_MLFLOW_DIR"] == str(var / "local" / "mlflow")
    for key in ("MLFLOW_REGISTRY_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "TLIB_MLFLOW_UI_URL"):
        assert key not in env, key
    assert not any("http://" in value for key, value in env.items()
                   if key.startswith(("MLFLOW_", "AIRFLOW__DATABASE")))
    assert env["PATH_MARKER"] == "kept"  # the rest of the caller's environment is passed on
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(stack_env.dags_dir())


def test_local_environment_points_away_from_a_running_stack(stack_shell: Path) -> None:
    import os

    env = stack_env.local_environment(os.environ)
    _assert_isolated(env, stack_shell)
    # what the child's settings derive from that environment: artifacts follow the store
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TLIB_MLFLOW_DIR", env["TLIB_MLFLOW_DIR"])
        mp.setenv("MLFLOW_TRACKING_URI", env["MLFLOW_TRACKING_URI"])
        assert settings.mlflow_tracking_uri() == env["MLFLOW_TRACKING_URI"]
        assert settings.mlflow_artifacts_dir() == stack_shell / "local" / "mlflow" / "artifacts"
        assert settings.runs_dir() == stack_shell / "runs"  # run folders stay shared


def test_train_local_starts_its_child_with_its_own_stores(
        stack_shell: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    seen: dict = {}

    def fake_run(cmd: list[str], env: dict[str, str] | None = None, **kw: object):
        seen.update(cmd=cmd, env=env)
        Path(cmd[-1]).write_text(json.dumps({"run_id": "manual__1", "state": "success"}))
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(subprocess, "run", fake_run)
    assert train._run_in_child("quick_start", {"epochs": 1}) == ("manual__1", "success")
    assert seen["cmd"][1:3] == ["-m", "tlib_airflow.local_run"]
    _assert_isolated(seen["env"], stack_shell)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("local run: Airflow home ")
    assert str(stack_shell / "local" / "airflow") in out[0] and "sqlite:///" in out[0]
