"""CeleryExecutor with PostgreSQL (metadata DB) and Redis (broker), two workers with
distinct host names: kill the worker running a training task; the retry runs on the other
worker and resumes from the checkpoint on the shared store. Every process is started and
stopped by PID here; PostgreSQL and Redis run on the CI machine (.ci/run checks them)."""
from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.fixtures.tiny_data import write_tiny_data
from tests.fixtures.live_stack import DAG_FILE, FIXTURES, LiveStack

pytestmark = pytest.mark.slow
PG = "postgresql+psycopg2://postgres@127.0.0.1:5432/{db}"
PORT = 18090


def _create_database(name: str) -> None:
    import psycopg2

    conn = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def _drop_database(name: str) -> None:
    import psycopg2

    conn = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


@pytest.fixture(scope="module")
def celery_stack(tmp_path_factory):
    import redis

    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=3).ping()
        _drop_database("tlib_probe")
    except Exception as e:  # CI starts both (.ci/run); a dev machine may not have them
        pytest.fail(f"PostgreSQL and Redis must run on 127.0.0.1 for this test: {e}")
    root = tmp_path_factory.mktemp("celery")
    dags = root / "dags"
    dags.mkdir()
    (dags / "failover_logic.py").write_text(DAG_FILE)
    db = f"tlib_ci_{uuid.uuid4().hex[:8]}"
    broker_db = 7
    redis.Redis(host="127.0.0.1", port=6379, db=broker_db).flushdb()
    _create_database(db)
    saved = dict(os.environ)
    for key in [k for k in os.environ if k.startswith("AIRFLOW__")]:
        del os.environ[key]
    os.environ.update({
        "TLIB_VAR_DIR": str(root / "shared"), "AIRFLOW_HOME": str(root / "airflow"),
        "TLIB_DAGS_DIR": str(dags), "TLIB_PRESETS_DIR": str(FIXTURES / "presets"),
        "TLIB_AIRFLOW_PORT": str(PORT), "TLIB_MAX_TRAINING_SLOTS": "2",
        "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'shared' / 'mlflow.db'}",
    })
    from training_lib.stack import processes
    from training_lib.stack.env import stack_environment

    env = {**os.environ, **stack_environment(with_mlflow_server=False),
           "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
           "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": PG.format(db=db),
           "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:6379/{broker_db}",
           "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + PG.format(db=db),
           "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tlib_airflow.hostname.worker_name",
           "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex,
           "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
           "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
           "TLIB_INJECT": "delay_per_step=0.05", "TLIB_INJECT_TRIES": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    airflow = str(Path(sys.executable).with_name("airflow"))
    import subprocess

    done = subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    names = []
    try:
        for name, cmd, extra in (
            ("api-server", [airflow, "api-server", "--port", str(PORT)], {}),
            ("scheduler", [airflow, "scheduler"], {}),
            ("dag-processor", [airflow, "dag-processor"], {}),
            ("worker-a", [airflow, "celery", "worker", "--celery-hostname", "worker-a@%h",
                          "--concurrency", "2", "--skip-serve-logs"], {"TLIB_WORKER_NAME": "worker-a"}),
            ("worker-b", [airflow, "celery", "worker", "--celery-hostname", "worker-b@%h",
                          "--concurrency", "2", "--skip-serve-logs"], {"TLIB_WORKER_NAME": "worker-b"}),
        ):
            processes.start(name, cmd, {**env, **extra}, root)
            names.append(name)
        from training_lib.stack.airflow_api import AirflowApi
        from training_lib.stack.control import airflow_healthy

        assert processes.wait_until(airflow_healthy, 180, 2, "celery stack"), \
            (processes.log_dir() / "scheduler.log").read_text()[-3000:]
        time.sleep(10)  # let both workers connect to the broker
        for name in names:
            processes.record_tree(name)
        yield LiveStack(AirflowApi(), write_tiny_data(root / "data", per_class=1, n_records=400))
    finally:
        for name in names:
            processes.stop(name, grace=10)
        os.environ.clear()
        os.environ.update(saved)
        _drop_database(db)


def test_killed_worker_task_retries_on_the_other_worker_and_resumes(celery_stack):
    from training_lib.runs.context import run_dir_for
    from training_lib.runs.faults import read_faults
    from training_lib.runs.folder import RunFolder
    from training_lib.stack import processes

    run_id = celery_stack.trigger("failover_logic")
    folder = RunFolder(run_dir_for("failover_logic", run_id)).round("logic_model", 1)
    deadline, victim = time.time() + 400, None
    while time.time() < deadline and victim is None:
        if celery_stack.api.dag_run("failover_logic", run_id)["state"] == "failed":
            break
        beat = folder.read_heartbeat() or {}
        if beat.get("step", 0) >= 30:  # past a few checkpoints (every 7 steps)
            ti = celery_stack.states("failover_logic", run_id)["logic_model.train"]
            victim = ti["hostname"]
            assert victim in ("worker-a", "worker-b"), ti
            killed_at = beat["step"]
            for proc in processes.processes(victim):  # the whole worker: celery, task, training
                proc.kill()
        time.sleep(0.2)
    assert victim, ("training never got going: "
                    f"{ {k: v['state'] for k, v in celery_stack.states('failover_logic', run_id).items()} }")
    assert celery_stack.wait_run("failover_logic", run_id, timeout=600) == "success"
    ti = celery_stack.states("failover_logic", run_id)["logic_model.train"]
    assert ti["try_number"] >= 2 and ti["hostname"] != victim  # moved to the other worker
    result = folder.read_result()
    assert result["resumed_from_step"] is not None
    # at most one interval (7) lost, plus the asynchronous write that was in flight when
    # the worker died (under load training can outpace fsync'ed writes by a few steps)
    assert killed_at - 2 * 7 - 1 <= result["resumed_from_step"]
    lost = [f for f in read_faults(run_dir_for("failover_logic", run_id)) if f["kind"] == "lost"]
    assert lost and lost[0]["host"] == victim
