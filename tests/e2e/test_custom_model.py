"""A preset's own `module:function` model is routed, trained, checkpointed and registered
like a built-in one, through the same pipeline stages the DAG tasks call."""
from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
pytestmark = pytest.mark.slow


def test_custom_model_goes_through_the_pipeline(tiny_data, monkeypatch):
    monkeypatch.setenv("TLIB_PRESETS_DIR", str(FIXTURES / "presets"))
    monkeypatch.setenv("TLIB_MODEL_PACKAGES", "tests.fixtures")  # where tiny_digits lives
    from training_lib.pipeline import stages
    from training_lib.runs.context import start_run
    from training_lib.registry import tracking

    ctx = start_run("custom_model", "custom-1", "custom_model", {"data_folder": str(tiny_data)})
    stages.scan_data(ctx)
    routed = stages.validate_data(ctx)
    assert routed["models"] == ["my_digits"]
    stages.allocate_resources(ctx)
    trained = stages.train_model(ctx, "my_digits")
    assert 0.0 <= trained["test_metric"] <= 1.0
    assert list(ctx.round("my_digits").checkpoints.glob("ckpt-*.json"))
    stages.evaluate(ctx)
    decisions = stages.register_versions(ctx)
    assert decisions["versions"]["my_digits"] == "1"
    version = tracking.client().get_model_version("my_digits", "1")
    assert version.tags["preset"] == "custom_model"
    run = tracking.client().get_run(trained["mlflow_run_id"])
    assert run.data.params["model.parameters"] == str(8 * 3 * 3 * 3 + 8 + 8 * 10 + 10)


def test_unknown_entry_point_is_refused_when_the_preset_loads(tmp_path, monkeypatch):
    monkeypatch.setenv("TLIB_MODEL_PACKAGES", "tests.fixtures")
    from training_lib.config import load_preset
    from training_lib.errors import PresetError

    path = tmp_path / "bad_custom.yaml"
    path.write_text((FIXTURES / "presets" / "custom_model.yaml").read_text()
                    .replace("tiny_digits", "no_such_builder"))
    with pytest.raises(PresetError, match="custom_models.my_digits.entry.*no_such_builder"):
        load_preset(path)
