"""Where things live: project root, run store, MLflow stores.

Every location can be moved with an environment variable so that tests, CI and
several workers can point at their own (or a shared) store.

| variable              | default                              |
|-----------------------|--------------------------------------|
| TLIB_HOME             | the repository root                  |
| TLIB_VAR_DIR          | $TLIB_HOME/var                       |
| TLIB_PRESETS_DIR      | $TLIB_HOME/presets                   |
| TLIB_STORE_DIR        | $TLIB_VAR_DIR/store (shared state)   |
| TLIB_RUNS_DIR         | $TLIB_VAR_DIR/runs (one folder/run)  |
| TLIB_MLFLOW_DIR       | $TLIB_VAR_DIR/mlflow (SQLite store, artifacts) |
| MLFLOW_TRACKING_URI   | sqlite:///$TLIB_MLFLOW_DIR/mlflow.db |
| TLIB_MLFLOW_UI_URL    | the tracking URI when it is a server (links a browser opens) |
"""
from __future__ import annotations

import os
import re
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _path_from_env(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


def project_root() -> Path:
    return _path_from_env("TLIB_HOME", PROJECT_ROOT)


def var_dir() -> Path:
    return _path_from_env("TLIB_VAR_DIR", project_root() / "var")


def presets_dir() -> Path:
    return _path_from_env("TLIB_PRESETS_DIR", project_root() / "presets")


def store_dir() -> Path:
    return _path_from_env("TLIB_STORE_DIR", var_dir() / "store")


def runs_dir() -> Path:
    return _path_from_env("TLIB_RUNS_DIR", var_dir() / "runs")


def mlflow_dir() -> Path:
    return _path_from_env("TLIB_MLFLOW_DIR", var_dir() / "mlflow")


def mlflow_tracking_uri() -> str:
    """The tracking URI tasks log to: the server when `make up` set one, else the SQLite store."""
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    return f"sqlite:///{mlflow_dir() / 'mlflow.db'}"


def mlflow_ui_url() -> str | None:
    """The MLflow UI address for links a person opens (reports, the "Run report" button):
    TLIB_MLFLOW_UI_URL, else the tracking server; None when tracking is not a server.

    They differ in compose: workers log to http://mlflow:5000, a name the host's
    browser cannot resolve, while the UI is published on http://localhost:5000.
    """
    url = os.environ.get("TLIB_MLFLOW_UI_URL") or mlflow_tracking_uri()
    return url.rstrip("/") if url.startswith(("http://", "https://")) else None


# MLflow 3's UI opens every experiment in its GenAI view (a per-browser switch that ignores
# the experiment's `mlflow.experimentKind` tag) unless the address asks for this one
ML_VIEW = "workflowType=machine_learning"


def mlflow_ui_page(base: str, route: str = "experiments") -> str:
    """An MLflow UI address that opens `route` in the model-training view."""
    return f"{base.rstrip('/')}/#/{route}?{ML_VIEW}"


def mlflow_artifacts_dir() -> Path:
    return mlflow_dir() / "artifacts"


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(text: str) -> str:
    """A file-system safe rendering of a run id such as 'manual__2026-01-01T00:00:00+00:00'."""
    return _UNSAFE.sub("_", text).strip("_") or "run"


def resolve_data_root(data_root: str) -> Path:
    """A preset's data_root: absolute, or relative to the project root."""
    path = Path(data_root).expanduser()
    return path if path.is_absolute() else project_root() / path


def host_name() -> str:
    """This worker's name in records: TLIB_WORKER_NAME (several workers on one machine,
    containers), else the machine's host name. Airflow uses the same via hostname_callable."""
    import socket

    return os.environ.get("TLIB_WORKER_NAME") or socket.gethostname()
