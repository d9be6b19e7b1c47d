"""A student's next round: its own data plus what its peers taught it.

`apply_knowledge` turns a student's `Dataset` and its `StudentKnowledge` into the
dataset the round fits on:

- a knowledge row whose input is one of the student's own training rows (the
  item is labeled in its modality) adds the distillation target to that row;
- any other row (the item is unlabeled in its modality) is appended, with the
  co-training soft target (if confident) and the distillation target;

targets become the (n, 2C) layout of `CollaborativeLoss`, and the model is
compiled with it. `epochs_for` keeps the round's optimizer steps those of the
model's own rows (`collaboration.same_steps`). The test split and the dataset the
worker evaluates are left alone: the round is judged on the same real labels as an
independent one.
`training.optimizer_state.restore_compile` puts the model's own loss back before it is saved.
"""
from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from training_lib.collab import knowledge as store
from training_lib.collab.pairs import row_digest
from training_lib.collab.losses import (CollaborativeLoss, HardTargetAccuracy, one_hot,
                                        stack_targets)
from training_lib.collab.strategies.base import chosen_strategies
from training_lib.config.schema import Collaboration
from training_lib.data.dataset import Dataset, num_rows
from training_lib.training.optimizer_state import compile_temporarily

if TYPE_CHECKING:
    from training_lib.runs.context import RunContext

log = logging.getLogger(__name__)


def consume_knowledge(ctx: "RunContext", model_name: str, round_index: int, model: Any,
                      dataset: Dataset) -> Dataset:
    """The worker's hook for round k > 1: knowledge of round k-1 -> the dataset to fit."""
    cfg = ctx.settings.collaboration
    folder = ctx.folder.knowledge(round_index - 1)
    chosen = chosen_strategies(cfg.strategies)
    student = store.read_student(folder, model_name) if any(s.paired for s in chosen) else None
    payloads = {s.name: s.read(folder, model_name) for s in chosen if not s.paired}
    out, stats = apply_knowledge(model, dataset, student, payloads, cfg)
    stats["knowledge"] = str(folder)
    ctx.write_json(ctx.round(model_name, round_index).collaboration, stats)
    log.info("%s round %d: %s", model_name, round_index, stats)
    return out


def apply_knowledge(model: Any, dataset: Dataset, student: store.StudentKnowledge | None,
                    payloads: dict[str, Any], cfg: Collaboration) -> tuple[Dataset, dict]:
    """(dataset to fit on, stats). Every chosen strategy's consume half runs: the paired
    ones' row targets from `student`, the others' from their `payloads[name]`. Returns
    `dataset` itself when there is nothing to add."""
    stats: dict[str, Any] = {}
    chosen = chosen_strategies(cfg.strategies)
    for strategy in chosen:
        if not strategy.paired:
            dataset, more = strategy.consume(model, dataset, payloads.get(strategy.name), cfg)
            stats.update(more)
    hard_of = [s for s in chosen if s.paired and s.role == "hard"]
    soft_of = [s for s in chosen if s.paired and s.role == "soft"]
    reason = _unusable(model, dataset, student)
    if reason:
        stats["targets"] = reason
        return dataset, stats
    assert student is not None
    n_cls = len(dataset.classes or [])
    x_train, y_train = dataset.x["train"], np.asarray(dataset.y["train"])
    index = {row_digest(x_train, j): j for j in range(num_rows(x_train))}
    soft_own = np.zeros((len(y_train), n_cls), np.float32)
    extra, extra_hard, extra_soft = [], [], []
    matched = distilled_own = 0
    for r in range(len(student)):
        j = index.get(row_digest(student.x, r))
        if j is not None:  # labeled in this modality: the label stays, peers add KL
            matched += 1
            soft = _row(soft_of, student, r, cfg)
            if soft.any():
                soft_own[j] = soft
                distilled_own += 1
            continue
        hard, soft = _row(hard_of, student, r, cfg), _row(soft_of, student, r, cfg)
        if hard.any() or soft.any():
            extra.append(r)
            extra_hard.append(hard)
            extra_soft.append(soft)
    if not extra and not distilled_own:
        stats["targets"] = (f"none: all {matched} items are labeled rows of this model already "
                            "and there are no distillation targets")
        return dataset, stats
    picked = np.asarray(extra, np.int64)
    x_extra = ({k: v[picked] for k, v in student.x.items()} if isinstance(student.x, dict)
               else student.x[picked])
    hard = np.concatenate([one_hot(y_train, n_cls),
                           np.asarray(extra_hard, np.float32).reshape(-1, n_cls)])
    soft = np.concatenate([soft_own, np.asarray(extra_soft, np.float32).reshape(-1, n_cls)])
    y = {"train": stack_targets(hard, soft)}
    if dataset.size("val"):
        y_val = np.asarray(dataset.y["val"])
        y["val"] = stack_targets(one_hot(y_val, n_cls), np.zeros((len(y_val), n_cls), np.float32))
    x = {"train": _concat(x_train, x_extra), "val": dataset.x.get("val"),
         "test": dataset.x.get("test")}
    out = dataclasses.replace(dataset, x=x, y={**dataset.y, **y})
    if getattr(out, "keys", None) and "train" in out.keys:  # sample keys: one per row
        out = dataclasses.replace(out, keys={**out.keys, "train": list(out.keys["train"])
                                             + [str(k) for k in student.keys[picked]]})
    compile_collaborative(model, n_cls, cfg)
    stats.update({"knowledge_rows": len(student), "own_rows": int(len(y_train)),
                  "matched_own_rows": matched, "distilled_own_rows": distilled_own,
                  "added_rows": int(len(picked)),
                  "added_pseudo_labeled": int(sum(h.any() for h in extra_hard)),
                  "train_rows": int(len(hard))})
    return out, stats


def epochs_for(epochs: int, own_rows: int, train_rows: int, batch_size: int,
               cfg: Collaboration) -> int:
    """The round's epochs over `train_rows`: with `same_steps`, as many optimizer steps
    as `epochs` over the model's own rows take (collaboration then costs no extra
    training steps; the added rows replace repeats of the own ones)."""
    if not cfg.same_steps or train_rows <= own_rows:
        return epochs
    own_steps = -(-own_rows // batch_size)
    steps = -(-train_rows // batch_size)
    return max(1, round(epochs * own_steps / steps))


def _unusable(model: Any, dataset: Dataset, student: store.StudentKnowledge | None) -> str:
    if student is None or len(student) == 0:
        return "none: no knowledge for this model"
    if dataset.classes is None or list(dataset.classes) != list(student.classes):
        return (f"skipped: knowledge is for classes {student.classes}, the dataset has "
                f"{dataset.classes}")
    y = np.asarray(dataset.y["train"])
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        return f"skipped: training targets of shape {y.shape} are not class indices"
    if not getattr(getattr(model, "loss", None), "from_logits", False):
        return "skipped: the model is not a classifier compiled on logits"
    return ""


def _row(strategies: list[Any], student: store.StudentKnowledge, r: int,
         cfg: Collaboration) -> np.ndarray:
    """The summed row targets of `strategies` (paired ones of one role) for knowledge row r."""
    out = np.zeros(len(student.classes), np.float32)
    for strategy in strategies:
        out = out + strategy.row_target(student, r, cfg)
    return out


def _concat(a: Any, b: Any) -> Any:
    if isinstance(a, dict):
        return {k: np.concatenate([a[k], np.asarray(b[k], a[k].dtype)]) for k in a}
    return np.concatenate([a, np.asarray(b, a.dtype)])


def compile_collaborative(model: Any, n_classes: int, cfg: Collaboration) -> None:
    """Compile for (n, 2C) targets with an optimizer of the same kind and settings that
    continues the previous one's state; the original compile config is kept for
    `restore_compile`."""
    compile_temporarily(model,
                        CollaborativeLoss(n_classes, cfg.temperature, cfg.distillation_weight),
                        [HardTargetAccuracy(n_classes)])
