"""Links a person opens use the MLflow UI address, which may differ from the tracking URI."""
from __future__ import annotations

import pytest

from training_lib import settings


def test_mlflow_ui_url(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.delenv("TLIB_MLFLOW_UI_URL", raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    assert settings.mlflow_ui_url() is None  # no server, no UI link
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow:5000/")
    assert settings.mlflow_ui_url() == "http://mlflow:5000"
    # compose: workers log to mlflow:5000, the host's browser opens localhost:5000
    monkeypatch.setenv("TLIB_MLFLOW_UI_URL", "http://localhost:5000/")
    assert settings.mlflow_ui_url() == "http://localhost:5000"
    assert settings.mlflow_tracking_uri() == "http://mlflow:5000/"


def test_mlflow_ui_pages_open_in_the_model_training_view():
    from training_lib import settings

    assert settings.mlflow_ui_page("http://localhost:5000/", "experiments/3/runs/r1") == \
        "http://localhost:5000/#/experiments/3/runs/r1?workflowType=machine_learning"
