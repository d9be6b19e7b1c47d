"""Runs ready for the training worker: tiny real data, routing, manifest and resource plan
of logic_model done, so a test can start the worker (or the train stage) right away."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from tests.fixtures.tiny_data import write_tiny_data

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture
def logic_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Tiny data for logic_model, with the fixture presets (small batches, frequent
    checkpoints) in reach."""
    monkeypatch.setenv("TLIB_PRESETS_DIR", str(FIXTURES / "presets"))
    return write_tiny_data(tmp_path / "data", per_class=1, n_records=400)


@pytest.fixture
def logic_run(logic_data: Path) -> Callable:
    """logic_run(run_id, preset="resume_logic", params=None) -> a RunContext whose
    logic_model is routed its 400 propositions and planned on this machine; `params` are
    trigger params (e.g. force_retrain, so a run never reuses an earlier test's model)."""
    from training_lib.data.records import FileRecord
    from training_lib.pipeline import stages
    from training_lib.runs.context import start_run

    def make(run_id: str, preset: str = "resume_logic", params: dict | None = None):
        ctx = start_run(preset, run_id, preset, {"data_folder": str(logic_data), **(params or {})})
        body = (logic_data / "logic" / "propositions.jsonl").read_bytes()
        record = FileRecord("logic/propositions.jsonl", len(body), 0,
                            hashlib.sha256(body).hexdigest(), "json", "jsonl",
                            meta={"record_format": "proposition", "n_records": 400})
        ctx.write_json(ctx.folder.routing, {"models": ["logic_model"], "left_out": {}})
        ctx.write_json(ctx.folder.manifest("logic_model"),
                       {"model": "logic_model", "files": [record.to_json()]})
        stages.allocate_resources(ctx)
        return ctx

    return make


@pytest.fixture
def start_worker() -> Callable:
    """start_worker(ctx, try_number, env=None) -> the worker process of logic_model, started
    the way the launcher starts it (plan environment, own process group)."""
    from training_lib.pipeline.launcher import WORKER_MODULE
    from training_lib.resources.apply import environment_for
    from training_lib.resources.plan import ResourcePlan

    def start(ctx, try_number: int, env: dict | None = None) -> subprocess.Popen:
        plan = ResourcePlan.load(ctx.folder.plan).models["logic_model"]
        return subprocess.Popen(
            [sys.executable, "-m", WORKER_MODULE, str(ctx.run_dir), "logic_model",
             "--try", str(try_number)],
            env={**os.environ, **environment_for(plan), **(env or {})},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    return start


@pytest.fixture
def saved_weights() -> Callable:
    """saved_weights(ctx) -> the weights of logic_model's saved model.keras."""

    def weights(ctx) -> list[np.ndarray]:
        from training_lib.models.saving import load_model

        return load_model(ctx.round("logic_model").model_file).get_weights()

    return weights
