"""How long a model trains: its epoch budget and early-stopping patience.

A preset's `epochs` fits some models and not others: five epochs undertrain the
arithmetic seq2seq, fifty overfit a text classifier. So a model spec may name the budget
its model needs (`max_epochs`) and a `patience`; training then stops once the monitored
validation metric (`checkpoint.monitor`) has not improved for `patience` epochs, and the
best epoch's checkpoint is restored (training/engine.py).

Resolution, nearest wins:

1. `models.<name>.epochs` set in the preset: exactly that many epochs (the preset asked);
2. `models.<name>.max_epochs`, else the spec's `max_epochs`, when early stopping is on:
   the larger of it and the preset's `epochs`;
3. otherwise the preset's `epochs`.

Patience: `models.<name>.patience`, else the spec's; 0 or none turns early stopping off.

    >>> from training_lib.config.presets import load_preset
    >>> from training_lib.config.model_specs import MODELS
    >>> s = load_preset("quick_start").settings
    >>> epoch_schedule(s, MODELS["causal_reasoning_engine"])    # doctest: +SKIP
    EpochSchedule(epochs=60, patience=6, why='max_epochs of the model spec, early stopping')
"""
from __future__ import annotations

from dataclasses import dataclass

from training_lib.config.model_specs import ModelSpec
from training_lib.config.schema import PresetModel


@dataclass(frozen=True)
class EpochSchedule:
    epochs: int  # the budget: at most this many epochs
    patience: int | None  # None: no early stopping
    why: str  # where the budget came from, for logs and result.json


def epoch_schedule(settings: PresetModel, spec: ModelSpec) -> EpochSchedule:
    override = settings.models.get(spec.name)
    patience = override.patience if override and override.patience is not None else spec.patience
    patience = patience or None
    if override is not None and override.epochs is not None:
        return EpochSchedule(override.epochs, patience, f"models.{spec.name}.epochs")
    budget, source = (override.max_epochs, f"models.{spec.name}.max_epochs") \
        if override is not None and override.max_epochs is not None \
        else (spec.max_epochs, "max_epochs of the model spec")
    if budget is not None and patience is not None and budget > settings.epochs:
        return EpochSchedule(budget, patience, f"{source}, early stopping")
    return EpochSchedule(settings.epochs, patience, "the preset's epochs")
