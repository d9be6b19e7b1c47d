"""`stack up|down|status`: the embedded Airflow (standalone) and MLflow server."""
from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
import urllib.error
import urllib.request
from pathlib import Path

from training_lib import settings
from training_lib.stack import credentials
from training_lib.stack import env as stack_env
from training_lib.stack import processes

AIRFLOW, MLFLOW = "airflow", "mlflow"


def mlflow_server_command(port: int, store: Path, artifacts: Path) -> list[str]:
    """MLflow's basic-auth app on 127.0.0.1:`port`, one worker, a SQLite store; the auth
    config comes from MLFLOW_AUTH_CONFIG_PATH in its environment."""
    return [_bin("mlflow"), "server", "--app-name", "basic-auth", "--host", "127.0.0.1",
            "--port", str(port), "--backend-store-uri", f"sqlite:///{store}",
            "--artifacts-destination", str(artifacts), "--workers", "1"]


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
    """Start MLflow and Airflow, private to this user: every file they and their tasks
    write is created under umask 077."""
    with credentials.private_umask():
        return _up(timeout)


# `airflow standalone` starts its components as `airflow <command>` found on PATH. Its
# scheduler and triggerer would each start a log server listening on all interfaces
# (Airflow 3.3 hard-codes host "" and has no setting for it); with LocalExecutor the API
# server reads task logs from the shared local folder, so the components run without one.
_AIRFLOW_WRAPPER = """#!/bin/sh
# written by `python -m training_lib stack up`: no log server listening on 0.0.0.0/[::]
case "$1" in
  scheduler|triggerer) exec {airflow} "$@" --skip-serve-logs ;;
esac
exec {airflow} "$@"
"""


def _write_airflow_wrapper() -> Path:
    folder = stack_env.airflow_wrapper_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    wrapper = folder / "airflow"
    credentials.write_private(wrapper, _AIRFLOW_WRAPPER.format(airflow=shlex.quote(_bin("airflow"))))
    os.chmod(wrapper, 0o700)
    return folder


def _up(timeout: float) -> int:
    root = settings.project_root()
    var = settings.var_dir()
    var.mkdir(parents=True, exist_ok=True, mode=0o700)
    credentials.tighten(var)  # what an older version left 0644/0755
    new_airflow_password = credentials.ensure_airflow_password(stack_env.passwords_file())
    try:
        mlflow_auth, new_mlflow_logins = credentials.ensure_mlflow_auth(
            stack_env.mlflow_credentials_file(), stack_env.mlflow_auth_ini(),
            stack_env.mlflow_auth_db())
    except credentials.StackSecretError as e:
        print(e, file=sys.stderr)
        return 1
    env = {**os.environ, **stack_env.stack_environment(with_mlflow_server=True)}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    settings.mlflow_artifacts_dir().mkdir(parents=True, exist_ok=True)
    stack_env.airflow_home().mkdir(parents=True, exist_ok=True)
    if processes.main_process(MLFLOW) is None:
        mlflow_env = {**env, "MLFLOW_AUTH_CONFIG_PATH": str(stack_env.mlflow_auth_ini()),
                      "MLFLOW_FLASK_SERVER_SECRET_KEY": mlflow_auth.flask_secret_key}
        for key in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
            mlflow_env.pop(key, None)
        processes.start(MLFLOW, mlflow_server_command(
            stack_env.mlflow_port(), settings.mlflow_dir() / "mlflow.db",
            settings.mlflow_artifacts_dir()), mlflow_env, root)
        print(f"started mlflow server (logs: {processes.log_dir() / 'mlflow.log'})")
    if processes.main_process(AIRFLOW) is None:
        airflow_env = {**env, "PATH": f"{_write_airflow_wrapper()}{os.pathsep}{env['PATH']}"}
        processes.start(AIRFLOW, [_bin("airflow"), "standalone"], airflow_env, root)
        print(f"started airflow standalone (logs: {processes.log_dir() / 'airflow.log'})")
    print("waiting for the scheduler, API server and MLflow to be healthy ...", flush=True)
    ok = processes.wait_until(mlflow_healthy, timeout, interval=2, what="MLflow")
    if ok:
        try:
            credentials.ensure_service_account(stack_env.mlflow_url(), mlflow_auth)
        except credentials.StackSecretError as e:
            print(e, file=sys.stderr)
            ok = False
    ok = ok and processes.wait_until(airflow_healthy, timeout, interval=2, what="Airflow")
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
    print(f"Airflow UI: {stack_env.airflow_url()}   MLflow UI: {settings.mlflow_ui_page(stack_env.mlflow_url())}")
    # each password is shown on the terminal once, when generated; never in a log file
    if new_airflow_password:
        print(f"Airflow login (generated now, shown once, kept in {stack_env.passwords_file()}, "
              f"mode 0600): admin / {new_airflow_password}")
    else:
        print(f"Airflow login: admin, password in {stack_env.passwords_file()}")
    if new_mlflow_logins:
        print(f"MLflow login (generated now, shown once, kept in "
              f"{stack_env.mlflow_credentials_file()}, mode 0600): "
              f"{mlflow_auth.admin_username} / {mlflow_auth.admin_password}")
    else:
        print(f"MLflow login: {mlflow_auth.admin_username}, password in "
              f"{stack_env.mlflow_credentials_file()}")
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
