"""start_run pins the resolved preset once; load_run reopens the run from its folder."""
from __future__ import annotations

import json

import pytest

from training_lib.errors import PresetError
from training_lib.runs.context import load_run, start_run


def test_start_run_pins_config_once_and_load_run_reopens_it(tmp_path):
    ctx = start_run("ctx_test", "run-1", "quick_start", {"data_folder": str(tmp_path),
                                                        "epochs": 2})
    pinned = json.loads(ctx.folder.config.read_text())
    assert pinned["resolved"]["epochs"] == 2 and pinned["resolved"]["data_root"] == str(tmp_path)
    again = start_run("ctx_test", "run-1", "quick_start", {"epochs": 9})  # a retried task
    assert again.settings.epochs == 2
    reopened = load_run(ctx.run_dir, try_number=3)
    assert reopened.settings == ctx.settings and reopened.try_number == 3
    assert reopened.round("math_model", 2).path == ctx.run_dir / "models/math_model/round_2"


def test_load_run_of_a_folder_without_config_names_it(tmp_path):
    with pytest.raises(PresetError, match="no config.json"):
        load_run(tmp_path)


def test_a_run_pinned_before_checkpoint_every_steps_was_retired_still_loads(tmp_path):
    ctx = start_run("ctx_test", "old-1", "quick_start", {"data_folder": str(tmp_path)})
    data = json.loads(ctx.folder.config.read_text())
    data["resolved"]["checkpoint"]["every_steps"] = None
    del data["resolved"]["checkpoint"]["monitor_mode"]
    ctx.folder.config.write_text(json.dumps(data))
    checkpoint = load_run(ctx.run_dir).settings.checkpoint
    assert checkpoint.monitor == "val_loss" and checkpoint.monitor_mode == "min"


def test_the_trigger_forms_epochs_win_over_every_models_epoch_budget(tmp_path):
    from training_lib.config.model_specs import MODELS
    from training_lib.config.schedule import epoch_schedule

    ctx = start_run("quick_start", "epochs_2", "quick_start", {"epochs": 2})
    for name in ctx.selected_models:
        assert MODELS[name].max_epochs is None or MODELS[name].max_epochs > 2
        assert epoch_schedule(ctx.settings, MODELS[name]).epochs == 2
