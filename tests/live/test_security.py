"""The live stack's secrets and listeners: private files, no password in any log, MLflow
refuses requests without a login, every listener on loopback; and the pipeline still
logs to MLflow through its service login."""
from __future__ import annotations

import base64
import json
import os
import stat
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.slow

SECRET_FILES = {"simple_auth_manager_passwords.json.generated", "credentials.json",
                "basic_auth.ini"}


def _status(url: str, method: str = "GET", body: dict | None = None,
            login: tuple[str, str] | None = None) -> int:
    headers = {"Content-Type": "application/json"}
    if login:
        headers["Authorization"] = "Basic " + base64.b64encode(":".join(login).encode()).decode()
    request = urllib.request.Request(url, method=method, headers=headers,
                                     data=json.dumps(body).encode() if body is not None else None)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


def test_a_dag_run_logs_to_mlflow_with_the_service_login(live_stack):
    from training_lib.runs.context import run_dir_for
    from training_lib.runs.files import read_json
    from training_lib.runs.folder import RunFolder

    run_id = live_stack.trigger("resume_logic")
    assert live_stack.wait_run("resume_logic", run_id) == "success"
    registry = read_json(RunFolder(run_dir_for("resume_logic", run_id)).registry, {})
    assert registry["logic_model"]["version"]  # registered on the authenticated server


def test_mlflow_refuses_requests_without_a_login(live_stack):
    from training_lib.stack import env as stack_env

    url = stack_env.mlflow_url()
    search = f"{url}/api/2.0/mlflow/experiments/search?max_results=5"
    assert _status(search) == 401
    assert _status(f"{url}/api/2.0/mlflow/experiments/create", "POST", {"name": "x"}) == 401
    assert _status(f"{url}/api/2.0/mlflow/registered-models/delete", "DELETE",
                   {"name": "logic_model"}) == 401
    assert _status(search, login=("admin", "wrong-password-123")) == 401
    login = stack_env.mlflow_login_environment()
    assert _status(search, login=(login["MLFLOW_TRACKING_USERNAME"],
                                  login["MLFLOW_TRACKING_PASSWORD"])) == 200


def test_every_listener_of_the_stack_is_on_loopback(live_stack):
    from training_lib.stack import processes

    listening = []
    for name in ("airflow", "mlflow"):
        for proc in processes.processes(name):
            try:
                conns = proc.net_connections(kind="inet")
            except psutil.Error:
                continue
            listening += [(proc.pid, proc.name(), c.laddr.ip, c.laddr.port) for c in conns
                          if c.status == psutil.CONN_LISTEN]
    ports = {port for *_, port in listening}
    assert {18080, 15000} <= ports, listening  # the API server and MLflow are found
    assert all(ip in ("127.0.0.1", "::1") for _, _, ip, _ in listening), listening


def test_secrets_are_private_and_never_logged(live_stack):
    from training_lib import settings
    from training_lib.stack import env as stack_env

    var = settings.var_dir()
    auth = json.loads(stack_env.mlflow_credentials_file().read_text())
    passwords = {"airflow admin": stack_env.admin_password(),
                 "mlflow admin": auth["admin_password"],
                 "mlflow service": auth["service_password"]}
    assert all(passwords.values())
    for path in (stack_env.passwords_file(), stack_env.mlflow_credentials_file(),
                 stack_env.mlflow_auth_ini(), stack_env.airflow_home() / "airflow.cfg",
                 stack_env.airflow_home() / "airflow.db", settings.mlflow_dir() / "mlflow.db",
                 settings.store_dir() / "catalog.sqlite", var / "logs" / "airflow.log"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    readable = []
    logs = []
    for dirpath, dirnames, filenames in os.walk(var):
        for name in [""] + dirnames + filenames:
            path = Path(dirpath, name)
            st = path.lstat()
            if not stat.S_ISLNK(st.st_mode) and st.st_mode & 0o077:
                readable.append(f"{path} {oct(stat.S_IMODE(st.st_mode))}")
            if name and stat.S_ISREG(st.st_mode) and name not in SECRET_FILES:
                logs.append(path)
    assert stat.S_IMODE(var.stat().st_mode) == 0o700
    assert not readable, readable
    assert any(p.suffix == ".log" for p in logs)
    for path in logs:  # every log, database and run file under var/
        data = path.read_bytes()
        for what, password in passwords.items():
            assert password.encode() not in data, f"the {what} password is in {path}"
