"""The rollback DAG: its form is built from the registry's cached model list without
importing mlflow, and its task callable keeps the registry's invariants."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.fixtures.registry_models import assert_invariants, register_versions
from tlib_airflow.rollback_dag import build_rollback_dag, model_param, rollback_task
from training_lib.config.model_specs import MODELS
from training_lib.errors import RegistryError
from training_lib.registry.promotion import move_alias
from training_lib.registry.rollback import history, versions

ROOT = Path(__file__).resolve().parents[2]


def _listing(store: Path, models: dict) -> None:
    (store / "registry").mkdir(parents=True, exist_ok=True)
    (store / "registry" / "models.json").write_text(json.dumps({"models": models}))


def test_form_offers_models_with_an_earlier_version(tmp_path, monkeypatch):
    monkeypatch.setenv("TLIB_STORE_DIR", str(tmp_path))
    _listing(tmp_path, {"vision_service": {"versions": ["1", "2", "3"], "champion": "3",
                                           "previous": "2"},
                        "audio_service": {"versions": ["1"], "champion": "1"}})
    param = build_rollback_dag().params.get_param("model")
    assert param.schema["examples"] == ["vision_service"]
    assert param.description.endswith("vision_service (champion v3, previous v2)")
    assert param.value == "vision_service"


def test_form_falls_back_to_the_built_in_names(tmp_path, monkeypatch):
    monkeypatch.setenv("TLIB_STORE_DIR", str(tmp_path))  # nothing registered yet
    assert model_param().schema["examples"] == sorted(MODELS)
    _listing(tmp_path, {"audio_service": {"versions": ["1"], "champion": "1"}})
    assert model_param().schema["examples"] == sorted(MODELS)  # nothing to roll back to


def test_building_the_form_imports_no_mlflow(tmp_path):
    _listing(tmp_path, {"m": {"versions": ["1", "2"], "champion": "2"}})
    code = ("import json, os, sys\n"
            f"sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / 'plugins')!r}]\n"
            f"os.environ['TLIB_STORE_DIR'] = {str(tmp_path)!r}\n"
            "from tlib_airflow.rollback_dag import build_rollback_dag\n"
            "dag = build_rollback_dag()\n"
            "print(json.dumps({'examples': dag.params.get_param('model').schema['examples'],\n"
            "                  'mlflow': 'mlflow' in sys.modules}))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"examples": ["m"],
                                                               "mlflow": False}


def _trigger(model: str, version: int | None = None, reason: str = "") -> dict:
    return rollback_task.function(params={"model": model, "version": version,
                                          "reason": reason},
                                  run_id="manual__2026-01-01",
                                  dag_run=SimpleNamespace(triggering_user_name="ana"))


def test_the_task_rolls_back_with_the_same_invariants_and_records_the_user():
    name = register_versions(3)
    move_alias(name, "champion", "1", "first")
    move_alias(name, "champion", "2", "better")
    move_alias(name, "challenger", "3", "close")
    done = _trigger(name)
    assert (done["from"], done["to"]) == ("2", "1")
    assert assert_invariants(name) == {"champion": "1", "previous": "2", "challenger": "3"}
    assert {r["version"]: r["status"] for r in versions(name)}["2"] == "rolled_back"
    last = [m for m in history(name) if m["alias"] == "champion"][-1]
    assert last["who"] == "airflow ana (run manual__2026-01-01)"
    assert last["why"] == "rollback requested by airflow ana (run manual__2026-01-01)"
    _trigger(name, 3, "v3 passed review")  # the challenger becomes champion
    assert assert_invariants(name) == {"champion": "3", "previous": "1"}


def test_the_task_says_there_is_nothing_to_roll_back_to():
    name = register_versions(1)
    move_alias(name, "champion", "1", "first")
    with pytest.raises(RegistryError, match="nothing to roll back to: only v1 exists"):
        _trigger(name)
