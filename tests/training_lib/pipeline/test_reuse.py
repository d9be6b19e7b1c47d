"""Skipping unchanged work: a model branch whose inputs equal those of a registered earlier
result reuses it; a changed file, setting or code, a deleted version or force_retrain
trains again. (The first run's training is stood in for by a real registered version
and a result.json; tests/e2e/test_quick_start.py reuses after a real training.)"""
from __future__ import annotations

import json
import pathlib
import tempfile
from typing import Callable

import pytest

from training_lib.pipeline import reuse, stages
from training_lib.registry import client, tracking
from training_lib.registry.versions import ensure_registered_model, register_run_models
from training_lib.runs.context import start_run

MODEL = "logic_model"


class Trained(Exception):
    """Raised instead of starting the training worker."""


@pytest.fixture
def no_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise Trained()

    monkeypatch.setattr("training_lib.pipeline.launcher.run_worker", refuse)


@pytest.fixture
def run_like(logic_run: Callable, tmp_path: pathlib.Path,
             monkeypatch: pytest.MonkeyPatch) -> Callable:
    """run_like(run_id, params=None) -> a run routed and planned like `logic_run`'s, with
    its own trigger params; runs and the reuse index are this test's own."""
    monkeypatch.setenv("TLIB_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("TLIB_STORE_DIR", str(tmp_path / "store"))
    template = logic_run("template")

    def make(run_id: str, params: dict | None = None):
        ctx = start_run("resume_logic", run_id, "resume_logic",
                        {"data_folder": str(template.data_root), **(params or {})})
        for path in (template.folder.routing, template.folder.manifest(MODEL),
                     template.folder.plan):
            target = ctx.run_dir / path.relative_to(template.run_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
        return ctx

    return make


def _registered_first_run(ctx) -> str:
    """Stand in for a trained and registered first run: a real MLflow version of the model
    and the round's result.json with the input fingerprint the worker records."""
    ensure_registered_model(MODEL)
    c = tracking.client()
    mlflow_run = c.create_run(tracking.experiment_id("reuse_tests")).info.run_id
    folder = pathlib.Path(tempfile.mkdtemp())
    (folder / "MLmodel").write_text("flavors: {}\n")
    c.log_artifacts(mlflow_run, str(folder), "model")
    version = str(c.create_model_version(MODEL, source=f"runs:/{mlflow_run}/model",
                                         run_id=mlflow_run).version)
    round_folder = ctx.round(MODEL)
    round_folder.path.mkdir(parents=True, exist_ok=True)
    round_folder.model_file.write_bytes(b"a saved model")
    result = {"model": MODEL, "round": 1, "task": "classification", "metric": "accuracy",
              "test_metric": 0.93, "baseline": 0.5, "n_test": 60,
              "sizes": {"train": 280, "val": 60, "test": 60}, "sources": 1,
              "mlflow_run_id": mlflow_run, "model_path": str(round_folder.model_file),
              "input_fingerprint": reuse.input_fingerprint(ctx, MODEL)}
    ctx.write_json(round_folder.result, result)
    assert reuse.remember_versions(ctx, {MODEL: result}, {MODEL: {"version": version}}) == [MODEL]
    return version


def test_unchanged_inputs_reuse_the_registered_version(run_like, no_worker):
    first = run_like("run-1")
    version = _registered_first_run(first)
    second = run_like("run-2")
    out = stages.train_model(second, MODEL, log_line=lambda line: None)  # no worker started
    line = f"reused v{version} from run run-1"
    assert out["reused"] == line and out["test_metric"] == 0.93
    result = second.round(MODEL).read_result()
    assert result["reused"]["result"] == str(first.round(MODEL).result)
    assert result["model_path"] == str(first.round(MODEL).model_file)
    second.write_json(second.folder.scan, {"fingerprint": "f"})
    stages.evaluate(second)
    assert json.loads(second.folder.evaluation.read_text())[MODEL]["reused"] == line
    before = len(client.search_versions(MODEL))
    decisions = register_run_models(second, {MODEL: result})  # nothing registered again
    assert len(client.search_versions(MODEL)) == before
    assert decisions[MODEL]["version"] == version and decisions[MODEL]["reason"] == line
    assert reuse.read_index("resume_logic")[MODEL]["run_id"] == "run-1"  # still the origin


def test_a_changed_file_trains_again(run_like, no_worker):
    _registered_first_run(run_like("run-1"))
    second = run_like("run-2")
    manifest = json.loads(second.folder.manifest(MODEL).read_text())
    manifest["files"][0]["content_hash"] = "0" * 64  # one routed file's bytes changed
    second.write_json(second.folder.manifest(MODEL), manifest)
    assert reuse.changed_parts(reuse.read_index("resume_logic")[MODEL]["fingerprint"],
                               reuse.input_fingerprint(second, MODEL)) == ["manifest"]
    with pytest.raises(Trained):
        stages.train_model(second, MODEL, log_line=lambda line: None)


def test_a_touched_file_with_the_same_bytes_is_unchanged(run_like, no_worker):
    _registered_first_run(run_like("run-1"))
    second = run_like("run-2")
    manifest = json.loads(second.folder.manifest(MODEL).read_text())
    manifest["files"][0]["mtime_ns"] += 10**9
    second.write_json(second.folder.manifest(MODEL), manifest)
    assert "reused" in stages.train_model(second, MODEL, log_line=lambda line: None)


@pytest.mark.parametrize("params", [{"epochs": 7}, {"force_retrain": True}])
def test_a_changed_setting_or_force_retrain_trains_again(run_like, no_worker, params):
    _registered_first_run(run_like("run-1"))
    with pytest.raises(Trained):
        stages.train_model(run_like("run-2", params), MODEL, log_line=lambda line: None)


def test_changed_code_trains_again(run_like, no_worker, monkeypatch):
    _registered_first_run(run_like("run-1"))
    second = run_like("run-2")
    monkeypatch.setattr(reuse, "code_version", lambda builder, loader: "edited")
    with pytest.raises(Trained):
        stages.train_model(second, MODEL, log_line=lambda line: None)


def test_a_deleted_version_trains_again(run_like, no_worker):
    version = _registered_first_run(run_like("run-1"))
    tracking.client().delete_model_version(MODEL, version)
    with pytest.raises(Trained):
        stages.train_model(run_like("run-2"), MODEL, log_line=lambda line: None)


def test_the_code_version_follows_the_builders_own_helpers():
    files = {p.name for p in reuse.module_files("training_lib.models.logic")}
    assert {"logic.py", "common.py"} <= files  # a helper of its package, read not imported
    assert reuse.code_version("training_lib.models.logic:build", "training_lib.data.loaders."
                              "sequences") != reuse.code_version(
        "training_lib.models.vision:build", "training_lib.data.loaders.sequences")
