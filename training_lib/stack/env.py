"""The environment every Airflow and MLflow process of the embedded stack runs with.

One place for it: `make up`, the `train` command, the tests and CI all call
`stack_environment()`, so the scheduler, the DAG processor, task processes and
`dag.test()` share one AIRFLOW_HOME, DAG folder, plugins folder and MLflow store.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Mapping

from training_lib import settings


def airflow_port() -> int:
    return int(os.environ.get("TLIB_AIRFLOW_PORT", "8080"))


def mlflow_port() -> int:
    return int(os.environ.get("TLIB_MLFLOW_PORT", "5000"))


def bind_host() -> str:
    return os.environ.get("TLIB_BIND_HOST", "127.0.0.1")


def dags_dir() -> Path:
    return Path(os.environ.get("TLIB_DAGS_DIR") or settings.project_root() / "dags")


def airflow_home() -> Path:
    return Path(os.environ.get("AIRFLOW_HOME") or settings.var_dir() / "airflow")


def passwords_file() -> Path:
    return airflow_home() / "simple_auth_manager_passwords.json.generated"


def mlflow_credentials_file() -> Path:
    """The MLflow admin and service logins (0600), generated on the first `make up`."""
    return settings.mlflow_dir() / "credentials.json"


def mlflow_auth_ini() -> Path:
    """The basic-auth app's config (MLFLOW_AUTH_CONFIG_PATH): holds the admin password, 0600."""
    return settings.mlflow_dir() / "basic_auth.ini"


def mlflow_auth_db() -> Path:
    return settings.mlflow_dir() / "basic_auth.db"


def airflow_wrapper_dir() -> Path:
    """Holds the `airflow` wrapper `airflow standalone` runs its components through."""
    return settings.var_dir() / "run" / "bin"


def airflow_url() -> str:
    host = bind_host()
    return f"http://{host if host != '0.0.0.0' else '127.0.0.1'}:{airflow_port()}"


def mlflow_url() -> str:
    return f"http://127.0.0.1:{mlflow_port()}"


def stack_environment(*, with_mlflow_server: bool) -> dict[str, str]:
    """Variables to add to os.environ for Airflow processes (and for dag.test)."""
    root = settings.project_root()
    home = airflow_home()
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_dir()),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(root / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": os.environ.get("AIRFLOW__CORE__EXECUTOR", "LocalExecutor"),
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "60",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords_file()),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{airflow_url()}/execution/",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "10",
        # log servers move with the API port, so a second stack (tests) can run beside one
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(8793 + airflow_port() - 8080),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(8794 + airflow_port() - 8080),
        "AIRFLOW__API__HOST": bind_host(),
        "AIRFLOW__API__PORT": str(airflow_port()),
        "AIRFLOW__API__BASE_URL": airflow_url(),
        "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "1800",
        "TLIB_HOME": str(root),
        "TLIB_VAR_DIR": str(settings.var_dir()),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(root), str(root / "plugins"),
                                                    os.environ.get("PYTHONPATH", "")])),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "MLFLOW_ENABLE_ASYNC_LOGGING": "true",
    }
    if with_mlflow_server:
        env["MLFLOW_TRACKING_URI"] = mlflow_url()
        env.update(mlflow_login_environment())
    return env


def mlflow_login_environment() -> dict[str, str]:
    """The pipeline's MLflow service login, as the MLflow client reads it from the
    environment; empty before the first `make up`. Only environments carry it: it is
    never logged nor passed through XCom."""
    try:
        data = json.loads(mlflow_credentials_file().read_text())
        return {"MLFLOW_TRACKING_USERNAME": data["service_username"],
                "MLFLOW_TRACKING_PASSWORD": data["service_password"]}
    except (OSError, ValueError, KeyError):
        return {}


def local_dir() -> Path:
    """Where `train --local` keeps its own Airflow home and MLflow store."""
    return settings.var_dir() / "local"


# variables of a running stack (or of the user's shell) that would send an in-process run
# to another metadata DB or tracking server
_STACK_ONLY = ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CORE__SQL_ALCHEMY_CONN",
               "AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "MLFLOW_REGISTRY_URI",
               "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN",
               "MLFLOW_TRACKING_INSECURE_TLS", "MLFLOW_TRACKING_SERVER_CERT_PATH",
               "MLFLOW_TRACKING_CLIENT_CERT_PATH", "MLFLOW_TRACKING_AUTH", "TLIB_MLFLOW_UI_URL")


def local_environment(base: Mapping[str, str]) -> dict[str, str]:
    """The environment of a `train --local` child (`tlib_airflow.local_run`): `base` (the
    caller's environment) with the stack's variables, but its own Airflow home and
    SQLite metadata DB and its own SQLite MLflow store under `local_dir()`, whatever
    `base` says: a running stack's AIRFLOW_HOME or DB connection and its tracking
    server would otherwise take the local run's task rows and runs (and race its
    scheduler). Run folders and the model store stay where settings put them.

    >>> env = local_environment({"MLFLOW_TRACKING_URI": "http://127.0.0.1:5000"})
    >>> env["MLFLOW_TRACKING_URI"].startswith("sqlite:///")
    True
    """
    home = local_dir() / "airflow"
    mlflow = local_dir() / "mlflow"
    env = {k: v for k, v in base.items() if k not in _STACK_ONLY}
    env.update(stack_environment(with_mlflow_server=False))
    for key in _STACK_ONLY:  # stack_environment may name the stack's API server
        env.pop(key, None)
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE":
            str(home / "simple_auth_manager_passwords.json.generated"),
        "TLIB_MLFLOW_DIR": str(mlflow),
        "MLFLOW_TRACKING_URI": f"sqlite:///{mlflow / 'mlflow.db'}",
    })
    return env


def local_stores_line(env: Mapping[str, str]) -> str:
    """One line naming the stores a `train --local` child uses."""
    return (f"local run: Airflow home {env['AIRFLOW_HOME']} "
            f"(metadata DB {env['AIRFLOW__DATABASE__SQL_ALCHEMY_CONN']}), "
            f"MLflow tracking {env['MLFLOW_TRACKING_URI']}; a running stack's are not used")


def apply_environment(*, with_mlflow_server: bool = False) -> None:
    """Set the stack's variables in this process (call before importing airflow)."""
    for key, value in stack_environment(with_mlflow_server=with_mlflow_server).items():
        if key.startswith("MLFLOW_TRACKING_") or key not in os.environ or key == "PYTHONPATH":
            os.environ[key] = value


def admin_password() -> str | None:
    """The Airflow admin password the simple auth manager generated, if the stack made one."""
    try:
        data = json.loads(passwords_file().read_text())
    except (OSError, ValueError):
        return None
    return data.get("admin")
