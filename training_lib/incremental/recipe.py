"""The fine-tune itself, set up from a loaded champion: its weights copied into the fresh
model, the training rows cut to new + replayed old rows (replay.py), and, for a
classifier, the replayed rows' targets distilled from the champion (distill.py); after
the fit, the model's own loss back and, when classes were added, their logits' bias
corrected on the validation rows (calibrate.py).

Called by the worker (through `step.prepare_finetune`) and by bench/incremental.py, so
the bench measures what the nightly run does.
"""
from __future__ import annotations

import logging
from typing import Any

from training_lib.data.dataset import Dataset
from training_lib.incremental import calibrate, distill
from training_lib.incremental.finetune import transfer_weights
from training_lib.incremental.replay import replay_dataset
from training_lib.training.optimizer_state import restore_compile

log = logging.getLogger(__name__)


def seed_finetune(task: str, champion: Any, champion_classes: list[str] | None, model: Any,
                  dataset: Dataset, old_keys: set[str], *, replay_ratio: float,
                  distillation_weight: float, seed: int) -> tuple[Dataset, dict[str, Any]]:
    """(rows to fit `model` on, record). `model` is fresh and compiled; it leaves seeded
    with the champion's weights and, when distilling, compiled for probability targets:
    call `finish_finetune` after the fit."""
    notes = transfer_weights(champion, champion_classes, model, dataset.classes)
    tuned, counts = replay_dataset(dataset, old_keys, replay_ratio, seed)
    record: dict[str, Any] = {"counts": counts, "notes": notes, "distillation": None}
    if task != "classification" or distillation_weight <= 0:
        return tuned, record
    why_not = distill.can_distill(model, tuned)
    if why_not:
        notes.append(f"no distillation: {why_not}")
        log.info("%s: no distillation: %s", dataset.model, why_not)
        return tuned, record
    tuned, record["distillation"] = distill.with_champion_targets(
        tuned, old_keys, champion, champion_classes, distillation_weight)
    distill.compile_for_soft_targets(model)
    return tuned, record


def finish_finetune(task: str, model: Any, dataset: Dataset,
                    champion_classes: list[str] | None) -> dict[str, Any]:
    """After the fit, before evaluating and saving: the model's own compile back, and the
    new classes' bias corrected (classification). Returns the record."""
    restore_compile(model)
    if task != "classification":
        return {}
    return {"bias_correction": calibrate.correct_new_class_bias(model, dataset, champion_classes)}
