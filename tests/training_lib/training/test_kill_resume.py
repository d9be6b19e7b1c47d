"""SIGKILL the real training process mid-epoch; the next try resumes from its checkpoint,
runs exactly the missing batches and ends with the weights of an uninterrupted run, even
on a worker that lacks the local checkpoint folder (it pulls the mirror, TLIB_CHECKPOINT_URL)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.e2e.conftest import write_tiny_data

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
pytestmark = pytest.mark.slow


def _prepare(run_id: str, data: Path):
    """A run folder with routing and plan done, ready for the worker."""
    from training_lib.data.records import FileRecord
    from training_lib.pipeline import stages
    from training_lib.pipeline.run import start_run

    ctx = start_run("resume_test", run_id, "resume_logic", {"data_folder": str(data)})
    import hashlib

    body = (data / "logic" / "propositions.jsonl").read_bytes()
    record = FileRecord("logic/propositions.jsonl", len(body), 0, hashlib.sha256(body).hexdigest(),
                        "json", "jsonl", meta={"record_format": "proposition", "n_records": 400})
    ctx.write_json("routing.json", {"models": ["logic_model"], "left_out": {}})
    ctx.write_json("manifests/logic_model.json", {"model": "logic_model",
                                                  "files": [record.to_json()]})
    stages.allocate_resources(ctx)
    return ctx


def _worker(ctx, try_number: int, env: dict | None = None) -> subprocess.Popen:
    from training_lib.resources.apply import environment_for
    from training_lib.resources.plan import ResourcePlan

    plan = ResourcePlan.load(ctx.run_dir / "plan.json").models["logic_model"]
    return subprocess.Popen(
        [sys.executable, "-m", "training_lib.training.worker", str(ctx.run_dir), "logic_model",
         "--try", str(try_number)],
        env={**os.environ, **environment_for(plan), **(env or {})},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def _weights(ctx) -> list[np.ndarray]:
    import keras

    model = keras.saving.load_model(ctx.model_dir("logic_model") / "model.keras")
    return model.get_weights()


def test_sigkill_mid_epoch_then_resume_matches_uninterrupted(tmp_path, monkeypatch):
    monkeypatch.setenv("TLIB_PRESETS_DIR", str(FIXTURES / "presets"))
    data = write_tiny_data(tmp_path / "data", per_class=1, n_records=400)

    reference = _prepare("uninterrupted", data)
    assert _worker(reference, 1).wait(timeout=300) == 0
    ref_result = json.loads((reference.model_dir("logic_model") / "result.json").read_text())

    ctx = _prepare("killed", data)
    mirror = {"TLIB_CHECKPOINT_URL": (tmp_path / "object_store").as_uri()}
    proc = _worker(ctx, 1, {"TLIB_INJECT": "delay_per_step=0.05", **mirror})
    heartbeat = ctx.model_dir("logic_model") / "heartbeat.json"
    deadline = time.time() + 240
    killed_at = 0
    while time.time() < deadline:
        try:
            beat = json.loads(heartbeat.read_text())
        except (OSError, ValueError):
            beat = {}
        steps_per_epoch = ref_result["global_step"] // ref_result["epochs"]
        if beat.get("step", 0) >= steps_per_epoch + 10:  # inside the second epoch
            os.killpg(proc.pid, signal.SIGKILL)
            killed_at = beat["step"]
            break
        time.sleep(0.05)
    assert proc.wait(timeout=30) == -signal.SIGKILL and killed_at
    assert not (ctx.model_dir("logic_model") / "result.json").exists()

    # the retry lands on a worker without this disk's checkpoints: only the mirror has them
    local = ctx.model_dir("logic_model") / "checkpoints"
    mirrored = {p.name for p in (tmp_path / "object_store").rglob("ckpt-*.json")}
    assert mirrored and mirrored <= {p.name for p in local.glob("ckpt-*.json")}
    newest_mirrored = max(int(name[5:13]) for name in mirrored)
    shutil.rmtree(local)
    assert _worker(ctx, 2, mirror).wait(timeout=300) == 0
    result = json.loads((ctx.model_dir("logic_model") / "result.json").read_text())
    resumed = result["resumed_from_step"]
    assert resumed is not None and resumed % 7 == 0 or resumed % steps_per_epoch == 0
    assert resumed == newest_mirrored
    # at most one checkpoint interval lost, one more if the kill hit an upload in flight
    assert killed_at - 14 <= resumed <= killed_at + 2
    assert result["global_step"] == ref_result["global_step"]
    assert result["steps_run"] == ref_result["global_step"] - resumed  # exactly the missing ones
    for a, b in zip(_weights(reference), _weights(ctx)):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert result["test_metric"] == pytest.approx(ref_result["test_metric"], abs=1e-9)
