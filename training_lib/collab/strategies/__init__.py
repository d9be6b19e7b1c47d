"""The collaboration strategies, one registered class per module (see base.py).

Importing this package registers the built-ins (cotraining, distillation, shared_text,
in that order), then any other module of this folder: a new strategy is a new module
here and its test. No keras here (preset validation imports this package): the Keras
loss lives in `collab/losses.py`, and keras is imported inside the methods that need it.
"""
from __future__ import annotations

import importlib
import pkgutil

from training_lib.collab.strategies.base import PairedTargets, Strategy
from training_lib.collab.strategies.cotraining import CoTraining
from training_lib.collab.strategies.distillation import Distillation
from training_lib.collab.strategies.shared_text import SharedText

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["CoTraining", "Distillation", "PairedTargets", "SharedText", "Strategy"]
