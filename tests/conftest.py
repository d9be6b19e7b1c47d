"""Shared test setup: every test session gets its own store, MLflow DB and AIRFLOW_HOME,
so tests never touch var/ of the working copy."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "plugins"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

_SESSION_VAR = Path(tempfile.mkdtemp(prefix="tlib-test-var-"))
os.environ["TLIB_VAR_DIR"] = str(_SESSION_VAR)
os.environ["AIRFLOW_HOME"] = str(_SESSION_VAR / "airflow")
os.environ.pop("MLFLOW_TRACKING_URI", None)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from training_lib.stack.env import apply_environment  # noqa: E402

apply_environment()

FIXTURES = ROOT / "tests" / "fixtures"
