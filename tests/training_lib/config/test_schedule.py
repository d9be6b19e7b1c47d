"""Epoch budget and patience: the preset's explicit epochs win, else the spec's budget."""
from __future__ import annotations

from dataclasses import replace

from training_lib.config.model_specs import MODELS
from training_lib.config.schedule import epoch_schedule
from training_lib.config.schema import ModelOverrides


def _settings(epochs: int, **models: ModelOverrides):
    from training_lib.config.presets import load_preset

    s = load_preset("quick_start").settings
    return s.model_copy(update={"epochs": epochs, "models": models})


def test_a_short_preset_gets_the_spec_budget_with_early_stopping():
    spec = MODELS["causal_reasoning_engine"]
    schedule = epoch_schedule(_settings(5), spec)
    assert (schedule.epochs, schedule.patience) == (spec.max_epochs, spec.patience)


def test_explicit_epochs_and_overrides_win():
    spec = MODELS["logic_model"]
    assert epoch_schedule(_settings(5, logic_model=ModelOverrides(epochs=7)), spec).epochs == 7
    capped = epoch_schedule(_settings(5, logic_model=ModelOverrides(max_epochs=20)), spec)
    assert capped.epochs == 20
    off = epoch_schedule(_settings(5, logic_model=ModelOverrides(patience=0)), spec)
    assert (off.epochs, off.patience) == (5, None)  # no early stopping: the preset's epochs


def test_a_model_without_a_budget_keeps_the_preset_epochs():
    spec = replace(MODELS["vision_service"])
    assert spec.max_epochs is None
    schedule = epoch_schedule(_settings(12), spec)
    assert (schedule.epochs, schedule.patience) == (12, None)
