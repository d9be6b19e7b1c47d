"""`stack up|down|status`: the embedded Airflow (standalone) and MLflow server."""
from __future__ import annotations

import json
import os
import shutil
import sys
import urllib.error
import urllib.request
from pathlib import Path

from training_lib import settings
from training_lib.stack import env as stack_env
from training_lib.stack import processes

AIRFLOW, MLFLOW = "airflow", "mlflow"


def _bin(name: str) -> str:
    local = Path(sys.executable).with_name(name)
    return str(local) if local.exists() else (shutil.which(name) or name)


def http_ok(url: str, timeout: float = 3.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def airflow_healthy() -> bool:
    try:
        with urllib.request.urlopen(f"{stack_env.airflow_url()}/api/v2/monitor/health",
                                    timeout=3) as response:
            data = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return False
    return (data.get("scheduler", {}).get("status") == "healthy"
            and data.get("metadatabase", {}).get("status") == "healthy")


def mlflow_healthy() -> bool:
    return http_ok(f"{stack_env.mlflow_url()}/health")


def up(timeout: float = 300.0) -> int:
    root = settings.project_root()
    env = {**os.environ, **stack_env.stack_environment(with_mlflow_server=True)}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    settings.mlflow_artifacts_dir().mkdir(parents=True, exist_ok=True)
    stack_env.airflow_home().mkdir(parents=True, exist_ok=True)
    first_login = not stack_env.passwords_file().exists()
    if processes.main_process(MLFLOW) is None:
        processes.start(MLFLOW, [
            _bin("mlflow"), "server", "--host", "127.0.0.1", "--port", str(stack_env.mlflow_port()),
            "--backend-store-uri", f"sqlite:///{settings.mlflow_dir() / 'mlflow.db'}",
            "--artifacts-destination", str(settings.mlflow_artifacts_dir()),
            "--workers", "1"], env, root)
        print(f"started mlflow server (logs: {processes.log_dir() / 'mlflow.log'})")
    if processes.main_process(AIRFLOW) is None:
        processes.start(AIRFLOW, [_bin("airflow"), "standalone"], env, root)
        print(f"started airflow standalone (logs: {processes.log_dir() / 'airflow.log'})")
    print("waiting for the scheduler, API server and MLflow to be healthy ...", flush=True)
    ok = processes.wait_until(lambda: airflow_healthy() and mlflow_healthy(), timeout,
                              interval=2, what="the stack")
    processes.record_tree(AIRFLOW)
    if not ok:
        print(f"the stack did not become healthy in {timeout:.0f}s; see {processes.log_dir()}",
              file=sys.stderr)
        status()
        return 1
    from training_lib.stack.airflow_api import AirflowApi
    from training_lib.stack.pools import probed_pools, upsert_pools

    pools = probed_pools()
    upsert_pools(AirflowApi(), pools)
    print(f"training pools: {pools}")
    print(f"Airflow UI: {stack_env.airflow_url()}   MLflow UI: {stack_env.mlflow_url()}")
    password = stack_env.admin_password()
    if first_login and password:
        print(f"Airflow login (generated once, kept in {stack_env.passwords_file()}): "
              f"admin / {password}")
    else:
        print(f"Airflow login: admin, password in {stack_env.passwords_file()}")
    return 0


def down() -> int:
    stopped = {name: processes.stop(name) for name in (AIRFLOW, MLFLOW)}
    for name, count in stopped.items():
        print(f"{name}: " + (f"stopped {count} processes" if count else "not running"))
    return 0


def status() -> int:
    for name, url, healthy in ((AIRFLOW, stack_env.airflow_url(), airflow_healthy),
                               (MLFLOW, stack_env.mlflow_url(), mlflow_healthy)):
        procs = processes.processes(name)
        main = processes.main_process(name)
        state = "healthy" if healthy() else ("starting/unhealthy" if main else "down")
        pids = ", ".join(str(p.pid) for p in sorted(procs, key=lambda p: p.pid)) or "-"
        print(f"{name:8} {state:18} {url:24} pids: {pids}")
    return 0
