"""A small client of Airflow's public REST API (v2) with SimpleAuthManager login.

Plain urllib: the CLI triggers and follows DAG runs without importing Airflow.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from training_lib.errors import TrainingLibError
from training_lib.stack import env as stack_env


class AirflowApiError(TrainingLibError):
    """The Airflow API answered with an error (`status`, `detail`), or could not be reached
    (`status` None)."""

    def __init__(self, message: str, status: int | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


def error_detail(raw: bytes) -> str:
    """One readable line from an error body of the API: FastAPI's `detail` (a message, or
    a list of {loc, msg}), its first line only: a Param's jsonschema error goes on with
    the whole schema.
    """
    text = raw.decode(errors="replace")
    try:
        detail = json.loads(text).get("detail", text)
    except (ValueError, AttributeError):
        detail = text
    if isinstance(detail, list):  # request validation: [{"loc": [...], "msg": ...}, ...]
        detail = "; ".join(
            f"{'.'.join(str(p) for p in item.get('loc', []))}: {item.get('msg', item)}"
            if isinstance(item, dict) else str(item) for item in detail)
    elif not isinstance(detail, str):
        detail = json.dumps(detail)
    first = next((line.strip() for line in detail.splitlines() if line.strip()), "")
    return first[:500] or "(no detail)"


class AirflowApi:
    def __init__(self, base_url: str | None = None, username: str = "admin",
                 password: str | None = None) -> None:
        self.base_url = (base_url or stack_env.airflow_url()).rstrip("/")
        self.username = username
        self.password = password
        self._token: str | None = None

    def _request(self, method: str, path: str, body: Any = None, auth: bool = True) -> Any:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token()}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers,
                                         method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
        except urllib.error.HTTPError as e:
            detail = error_detail(e.read())
            raise AirflowApiError(f"{method} {path}: HTTP {e.code}: {detail}", e.code,
                                  detail) from e
        except (urllib.error.URLError, OSError) as e:
            raise AirflowApiError(f"{method} {self.base_url}{path}: {e}") from e
        return json.loads(raw) if raw else None

    def token(self) -> str:
        if self._token is None:
            if self.password is None:
                self.password = stack_env.admin_password()
            if not self.password:
                raise AirflowApiError(f"no password for {self.username!r}: expected it in "
                                      f"{stack_env.passwords_file()} (run `make up` first)")
            answer = self._request("POST", "/auth/token", {"username": self.username,
                                                           "password": self.password}, auth=False)
            self._token = answer["access_token"]
        return self._token

    def get_dag(self, dag_id: str) -> dict[str, Any] | None:
        try:
            return self._request("GET", f"/api/v2/dags/{dag_id}")
        except AirflowApiError as e:
            if e.status == 404:
                return None
            raise

    def import_errors(self) -> list[dict[str, Any]]:
        return self._request("GET", "/api/v2/importErrors?limit=100").get("import_errors", [])

    def unpause(self, dag_id: str) -> None:
        self._request("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})

    def pause(self, dag_id: str) -> None:
        self._request("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": True})

    def trigger(self, dag_id: str, conf: dict[str, Any]) -> str:
        try:
            run = self._request("POST", f"/api/v2/dags/{dag_id}/dagRuns",
                                {"logical_date": None, "conf": conf})
        except AirflowApiError as e:
            if e.status in (400, 422):  # a Param value the DAG refuses
                raise AirflowApiError(f"Airflow refused to start {dag_id}: {e.detail}",
                                      e.status, e.detail) from e
            raise
        return run["dag_run_id"]

    def dag_runs(self, dag_id: str) -> list[dict[str, Any]]:
        """The DAG's runs, oldest first (each with run_type: manual, scheduled, asset_triggered)."""
        path = f"/api/v2/dags/{dag_id}/dagRuns?limit=100&order_by=run_after"
        return self._request("GET", path).get("dag_runs", [])

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return self._request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id)}")

    def upstream_asset_events(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """The Asset events an asset-triggered run consumed (source DAG, run and task)."""
        path = f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id)}/upstreamAssetEvents"
        return self._request("GET", path).get("asset_events", [])

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        path = (f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id)}/taskInstances"
                "?limit=500")
        return self._request("GET", path).get("task_instances", [])
