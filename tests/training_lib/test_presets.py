"""Preset schema: every shipped preset is valid; broken ones fail with precise messages."""
from __future__ import annotations

from pathlib import Path

import pytest

from training_lib.config import list_presets, load_all, load_preset
from training_lib.config.cron import cron_error
from training_lib.errors import PresetError
from training_lib.config.model_specs import MODELS

ROOT = Path(__file__).resolve().parents[2]
ORIGINAL_NAMES = {
    "quick_start", "comprehensive_training", "full_dataset_training", "vision_focus",
    "audio_focus", "math_model_training", "logic_model_training", "real_math_model_training",
    "real_logic_model_training", "concept_models_training", "environment_simulator_training",
    "causal_reasoning_training", "adaptive_learning_training", "alpha_deep_model_training",
    "collaborative_training", "code_model_training", "data_analysis_model_training",
}


def test_all_shipped_presets_are_valid_and_keep_original_names():
    good, bad = load_all(ROOT / "presets")
    assert bad == {}
    assert ORIGINAL_NAMES | {"incremental_learning"} <= set(good)


def test_defaults_merge_under_preset_and_nearest_wins():
    preset = load_preset("real_math_model_training", ROOT / "presets")
    s = preset.settings
    assert s.epochs == 60  # its own value wins over the one it extends (15)
    assert s.batch_size == 64  # inherited from math_model_training
    assert s.validation_split == 0.15  # from _defaults.yaml
    assert s.checkpoint.keep_last == 3  # nested defaults merged key by key


def test_groups_expand_to_member_models():
    assert load_preset("concept_models_training", ROOT / "presets").models == [
        "environment_simulator", "adaptive_learning_controller", "alpha_deep_model"]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("body", "expected"), [
    ("description: x\ntarget_models: [vision_service, math_modle]\nepochs: 1\n",
     "key 'target_models[1]': got 'math_modle' (str); expected a model name"),
    ("description: x\ntarget_models: [math_model]\nepochs: ten\n",
     "key 'epochs': got 'ten' (str); expected a valid integer"),
    ("description: x\ntarget_models: [math_model]\nepochs: 2\ncheckpoint: {keep_lst: 3}\n",
     "key 'checkpoint.keep_lst': unknown key (did you mean 'keep_last'?)"),
    ("description: x\ntarget_models: [math_model]\nepochs: 2\ncheckpoint: {every_steps: 25}\n",
     "key 'checkpoint.every_steps': got 25 (int); this key was removed (the checkpoint interval "
     "has one key); write 'checkpoint_interval: 25' at the top level of the preset instead"),
    ("description: x\ntarget_models: [math_model]\nepochs: 2\ncheckpoint: {monitor: val_f2}\n",
     "key 'checkpoint.monitor_mode': got null (NoneType); expected 'min' or 'max': the "
     "direction of checkpoint.monitor 'val_f2' is not known"),
    ("description: x\ntarget_models: [math_model]\nepochs: 2\ncheckpoint: {monitor_mode: up}\n",
     "key 'checkpoint.monitor_mode': got 'up' (str); expected 'min' or 'max'"),
    ("description: x\ntarget_models: [math_model]\nepochs: 2\nschedule: '61 * * * *'\n",
     "minute field '61': 61 is outside 0-59"),
    ("description: x\ntarget_models: [math_model]\nepochs: 2\nuse_gpu: 'yes'\n",
     "key 'use_gpu': got 'yes' (str); expected a valid boolean"),
    ("description: x\ntarget_models: [math_model]\n", "key 'epochs': missing"),
    ("description: x\ntarget_models: [math_model]\nepochs: 2\nrounds: 3\n",
     "key 'rounds': got 3 (int); expected 1 unless enable_collaborative_training is true"),
    ("description: x\ntarget_models: [multimodal_service]\nepochs: 2\n"
     "models: {multimodal_service: {fields: {caption: text}}}\n",
     "key 'models.multimodal_service.fields.caption': got 'caption' (str); expected a field of "
     "multimodal_service's record format (pairs: image, audio, text, label)"),
    ("description: x\ntarget_models: [math_model]\nepochs: 2\n"
     "models: {math_model: {fields: {problem: ''}}}\n",
     "key 'models.math_model.fields.problem': got '' (str); expected the key a record holds"),
    ("description: x\ntarget_models: [vision_service]\nepochs: 2\n"
     "models: {vision_service: {fields: {label: digit}}}\n",
     "key 'models.vision_service.fields.label': got 'label' (str); expected no `fields:`: "
     "vision_service reads no JSON records (it consumes image, document)"),
    ("- a list\n", "top level must be a mapping"),
    ("description: [unclosed\n", "invalid YAML"),
])
def test_schema_errors_name_file_key_value_and_expectation(tmp_path, body, expected):
    path = _write(tmp_path, "bad", body)
    with pytest.raises(PresetError) as info:
        load_preset(path)
    message = str(info.value)
    assert message.startswith(str(path))
    assert expected in message


def test_unknown_custom_entry_point_is_a_preset_error(tmp_path):
    path = _write(tmp_path, "custom", "description: x\nepochs: 1\ntarget_models: [mine]\n"
                  "custom_models:\n  mine: {entry: 'training_lib.models.vision:no_such_function', "
                  "consumes: [image]}\n")
    with pytest.raises(PresetError, match="custom_models.mine.entry.*no_such_function"):
        load_preset(path)


def test_custom_entry_point_found_without_import(tmp_path):
    path = _write(tmp_path, "custom", "description: x\nepochs: 1\ntarget_models: [mine]\n"
                  "custom_models:\n  mine: {entry: 'training_lib.models.vision:build', "
                  "consumes: [image]}\n")
    assert load_preset(path).models == ["mine"]


def test_extends_cycle_is_reported(tmp_path):
    _write(tmp_path, "a", "extends: b\ndescription: x\n")
    _write(tmp_path, "b", "extends: a\n")
    with pytest.raises(PresetError, match="cycle a -> b -> a"):
        load_preset(tmp_path / "a.yaml")


@pytest.mark.parametrize(("expr", "ok"), [
    ("0 2 * * *", True), ("*/15 9-17 * * mon-fri", True), ("@daily", True),
    ("0 0 1 jan,jul *", True), ("0 2 * *", False), ("0 24 * * *", False), ("@sometimes", False),
    ("5-1 * * * *", False), ("*/0 * * * *", False),
])
def test_cron_validation(expr, ok):
    assert (cron_error(expr) is None) is ok


def test_preset_catalog_names_match_models():
    for name in list_presets(ROOT / "presets"):
        for model in load_preset(name, ROOT / "presets").models:
            assert model in MODELS


def test_a_models_override_wins_and_an_unset_one_falls_back_to_the_preset(tmp_path):
    path = _write(tmp_path, "per_model", "description: per-model settings\n"
                  "target_models: [logic_model, math_model]\nepochs: 5\nurgency: 7\n"
                  "models:\n  logic_model: {epochs: 12, urgency: 0}\n")
    s = load_preset(path).settings
    assert (s.for_model("logic_model", "epochs"), s.for_model("math_model", "epochs")) == (12, 5)
    assert (s.for_model("logic_model", "urgency"), s.for_model("math_model", "urgency")) == (0, 7)
    assert s.for_model("logic_model", "batch_size") == s.batch_size


@pytest.mark.parametrize(("monitor", "mode"), [
    ("val_loss", "min"), ("loss", "min"), ("val_mae", "min"), ("epoch_val_mse", "min"),
    ("val_accuracy", "max"), ("val_exact_match", "max"), ("r2", "max"),
    ("val_hard_target_accuracy", "max"), ("val_reconstruction_r2", "max"),
])
def test_checkpoint_monitor_mode_defaults_to_the_metrics_direction(tmp_path, monitor, mode):
    path = _write(tmp_path, "ckpt", "description: x\ntarget_models: [math_model]\nepochs: 2\n"
                  f"checkpoint: {{monitor: {monitor}}}\n")
    checkpoint = load_preset(path).settings.checkpoint
    assert (checkpoint.monitor, checkpoint.monitor_mode) == (monitor, mode)


def test_an_explicit_monitor_mode_wins_and_travels_in_the_resolved_config(tmp_path):
    path = _write(tmp_path, "ckpt", "description: x\ntarget_models: [math_model]\nepochs: 2\n"
                  "checkpoint: {monitor: val_f2, monitor_mode: max}\n")
    preset = load_preset(path)
    assert preset.settings.checkpoint.monitor_mode == "max"
    assert preset.resolved()["checkpoint"]["monitor_mode"] == "max"
    assert "every_steps" not in preset.resolved()["checkpoint"]


def test_fields_map_canonical_names_per_model_and_groups_reach_their_members(tmp_path):
    path = _write(tmp_path, "fields", "description: user keys\nepochs: 1\n"
                  "target_models: [multimodal_service, math_model, concept_models]\nmodels:\n"
                  "  multimodal_service: {fields: {text: caption, label: digit}}\n"
                  "  math_model: {fields: {problem: question, answer: result}}\n"
                  "  concept_models: {fields: {state_before: s0, strategy: plan}}\n")
    s = load_preset(path).settings
    assert s.models["multimodal_service"].fields == {"text": "caption", "label": "digit"}
    assert s.models["math_model"].fields == {"problem": "question", "answer": "result"}
