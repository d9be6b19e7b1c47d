"""One round's knowledge sharing: peers' predictions -> each student's targets.

    participants (finished models, loaded) + paired items
      -> every model predicts its view of every item (pairs.py)
      -> label spaces aligned to the pairs' labels (labels.py)
      -> per student: the paired strategies' targets (co-training, distillation) from
         the *other* models on the items of its training split (strategies/)
      -> every other chosen strategy's share half (e.g. strategies/shared_text.py
         merges byte embedding tables)
      -> knowledge/round_<k>/ (knowledge.py)

`compute_knowledge` is pure (arrays in, arrays out) and used by bench/collab.py;
`share_run_round` is the DAG task's entry, reading and writing the run folder.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from training_lib.collab import knowledge, labels
from training_lib.collab.pairs import (MODALITIES, PairItem, modality_features, pair_inputs,
                                       view_key, view_split)
from training_lib.collab.strategies.base import chosen_strategies
from training_lib.collab.strategies.distillation import soften
from training_lib.config.schema import PresetModel

if TYPE_CHECKING:
    from training_lib.runs.context import RunContext

log = logging.getLogger(__name__)


@dataclass
class Participant:
    """A model that finished the round: its network, classes and what it reads."""

    name: str
    model: Any  # keras.Model
    classes: list[str] | None
    view: str | None  # image | audio | text | pair | None (no view of paired items)
    train_size: int
    weight: float = 1.0  # as a teacher: its last validation accuracy


@dataclass
class Views:
    """Features of every paired item, per modality (None: no item has that modality)."""

    items: list[PairItem]
    features: dict[str, np.ndarray | None]
    present: dict[str, np.ndarray]

    def inputs(self, view: str, model: Any) -> tuple[Any, np.ndarray]:
        """(inputs of every item for `model`, which reads this view; seen mask)."""
        n = len(self.items)
        if view == "pair":
            shapes = {t.name: tuple(t.shape[1:]) for t in model.inputs}
            if not set(MODALITIES) <= set(shapes):
                return None, np.zeros(n, bool)
            x = pair_inputs(self.features, self.present, shapes, n)
            return x, x["present"].any(axis=1)
        return self.features.get(view), self.present.get(view, np.zeros(n, bool))


@dataclass
class RoundKnowledge:
    students: dict[str, knowledge.StudentKnowledge]  # targets of the paired strategies
    payloads: dict[str, Any]  # what each other strategy shared, by its name
    summary: dict[str, Any] = field(default_factory=dict)


def collect_views(items: list[PairItem], data_root: Path, settings: PresetModel,
                  cache: Any = None) -> Views:
    features, present = {}, {}
    for m in MODALITIES:
        features[m], present[m] = modality_features(items, m, data_root, settings, cache)
    return Views(items, features, present)


def predict_views(p: Participant, views: Views,
                  batch_size: int = 256) -> tuple[np.ndarray, np.ndarray] | None:
    """(logits (n_items, classes), seen (n_items,)) of one participant, or None."""
    x, seen = views.inputs(p.view, p.model) if p.view else (None, None)
    if x is None or seen is None or not seen.any():
        return None
    rows = np.flatnonzero(seen)
    part = {k: v[rows] for k, v in x.items()} if isinstance(x, dict) else x[rows]
    expected = p.model.inputs[0].shape[1:] if not isinstance(part, dict) else None
    if expected is not None and tuple(expected) != tuple(part.shape[1:]):
        log.warning("%s reads inputs of shape %s, its view of the pairs has %s; not a teacher",
                    p.name, tuple(expected), part.shape[1:])
        return None
    out = infer(p.model, part, batch_size)
    logits = np.zeros((len(seen), out.shape[1]), np.float32)
    logits[rows] = as_logits(out)
    return logits, seen


def infer(model: Any, x: Any, batch_size: int = 256) -> np.ndarray:
    """The model's outputs in inference mode, batch by batch. A direct call, not
    `predict`: a few hundred items do not repay tracing a predict function."""
    import keras

    n = len(next(iter(x.values()))) if isinstance(x, dict) else len(x)
    parts = []
    for start in range(0, n, batch_size):
        batch = ({k: v[start:start + batch_size] for k, v in x.items()} if isinstance(x, dict)
                 else x[start:start + batch_size])
        parts.append(keras.ops.convert_to_numpy(model(batch, training=False)))
    return np.concatenate(parts).astype(np.float32)


def as_logits(out: np.ndarray) -> np.ndarray:
    """Models output logits; a model that outputs probabilities gets their logs."""
    if out.min() >= 0 and np.allclose(out.sum(axis=1), 1.0, atol=1e-3):
        return np.log(np.clip(out, 1e-7, 1.0))
    return out


def compute_knowledge(participants: list[Participant], views: Views,
                      settings: PresetModel) -> RoundKnowledge:
    """Targets for every student from its peers (the paired strategies, computed together
    on one prediction of the items), and what every other chosen strategy shares."""
    cfg = settings.collaboration
    chosen = chosen_strategies(cfg.strategies)
    summary: dict[str, Any] = {"strategies": sorted(cfg.strategies),
                               "paired_items": len(views.items)}
    students: dict[str, knowledge.StudentKnowledge] = {}
    if any(s.paired for s in chosen) and views.items:
        students, summary["label_space"], summary["students"] = _targets(
            participants, views, settings)
    payloads: dict[str, Any] = {}
    for strategy in chosen:
        if not strategy.paired:
            payloads[strategy.name], summary[strategy.name] = strategy.share(participants,
                                                                             settings)
    return RoundKnowledge(students, payloads, summary)


def _targets(participants: list[Participant], views: Views,
             settings: PresetModel) -> tuple[dict, dict, dict]:
    """Predictions on the pairs -> label alignment -> every aligned student's targets."""
    cfg = settings.collaboration
    logits, seen = {}, {}
    for p in participants:
        if p.classes and p.view:
            predicted = predict_views(p, views)
            if predicted is not None:
                logits[p.name], seen[p.name] = predicted
    shared = sorted({i.label for i in views.items if i.label is not None})
    if not shared:  # unlabeled pairs: the multimodal model's classes are the item labels
        shared = next((list(p.classes) for p in participants if p.view == "pair" and p.classes), [])
    probs = {m: soften(z, 1.0) for m, z in logits.items()}
    classes = {p.name: list(p.classes) for p in participants if p.name in logits}
    alignment = labels.align_all(classes, shared, probs, seen)
    aligned = [p for p in participants if p.name in logits and alignment[p.name].aligned]
    in_shared = {p.name: labels.to_shared(probs[p.name], alignment[p.name].matrix) for p in aligned}
    soft_shared = {p.name: labels.to_shared(soften(logits[p.name], cfg.temperature),
                                            alignment[p.name].matrix) for p in aligned}
    students, report = {}, {}
    for s in aligned:
        teachers = [t for t in aligned if t.name != s.name]
        if not teachers:
            report[s.name] = {"rows": 0, "reason": "no aligned peer to learn from"}
            continue
        students[s.name], report[s.name] = _student_targets(
            s, teachers, views, settings, alignment[s.name].matrix,
            {t.name: (in_shared[t.name], soft_shared[t.name], seen[t.name]) for t in teachers})
    label_space = {"labels": shared,
                   "models": {m: labels.describe(a) for m, a in alignment.items()}}
    return students, label_space, report


def _student_targets(s: Participant, teachers: list[Participant], views: Views,
                     settings: PresetModel, matrix: np.ndarray,
                     outputs: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
                     ) -> tuple[knowledge.StudentKnowledge, dict[str, Any]]:
    """One student's targets on the items of its training split. `outputs[t]` are a
    teacher's (probabilities, softened probabilities, seen) in the shared label space."""
    cfg = settings.collaboration
    x_all, s_seen = views.inputs(s.view, s.model)
    rows = np.flatnonzero([s_seen[i] and view_split(item, s.view, settings) == "train"
                           for i, item in enumerate(views.items)])
    t_seen = [outputs[t.name][2][rows] for t in teachers]
    weights = [t.weight for t in teachers]
    n_cls = len(s.classes or [])
    columns = {role: (np.zeros((len(rows), n_cls), np.float32), np.zeros(len(rows), bool))
               for role in ("hard", "soft")}
    for strategy in chosen_strategies(cfg.strategies):
        if not strategy.paired:
            continue
        target, mask = strategy.targets([outputs[t.name][0][rows] for t in teachers],
                                        [outputs[t.name][1][rows] for t in teachers],
                                        t_seen, weights, cfg)
        values = labels.from_shared(target, matrix) * mask[:, None]
        mask = mask & (values.sum(axis=1) > 0)  # mass on labels the student has
        total, has = columns[strategy.role]
        columns[strategy.role] = (total + values, has | mask)
    (cotrain, confident), (distill, has_distill) = columns["hard"], columns["soft"]
    keep = confident | has_distill
    picked = rows[keep]
    x = {k: v[picked] for k, v in x_all.items()} if isinstance(x_all, dict) else x_all[picked]
    n_teachers = np.sum(np.stack(t_seen), axis=0)[keep]
    student = knowledge.StudentKnowledge(
        s.name, list(s.classes or []), x,
        np.array([view_key(views.items[i], s.view) for i in picked], dtype=str),
        cotrain[keep], confident[keep], distill[keep], n_teachers.astype(np.int32))
    top = np.max(cotrain[confident], axis=1) if confident.any() else np.zeros(0)
    return student, {
        "view": s.view, "train_items": int(len(rows)), "rows": int(keep.sum()),
        "confident": int(confident.sum()), "distilled": int(has_distill.sum()),
        "mean_confidence": round(float(top.mean()), 4) if len(top) else None,
        "teachers": {t.name: int(outputs[t.name][2][rows].sum()) for t in teachers}}


def write_round(folder: Path, result: RoundKnowledge) -> None:
    for student in result.students.values():
        knowledge.write_student(folder, student)
    for strategy in chosen_strategies(list(result.payloads)):
        strategy.write(folder, result.payloads[strategy.name])


# ---- the DAG task ----------------------------------------------------------------------
def share_run_round(ctx: "RunContext", round_index: int, models: list[str],
                    records: list[Any]) -> dict[str, Any]:
    """Load the round's finished models, share, write knowledge/round_<k>/; returns the
    summary (also written as summary.json). A model without a result is skipped."""
    import json

    started = time.monotonic()
    folder = ctx.folder.knowledge(round_index)
    for stale in folder.glob("*.npz") if folder.is_dir() else []:  # a rerun starts clean
        stale.unlink()
    participants, skipped = load_participants(ctx, round_index, models)
    summary: dict[str, Any] = {"round": round_index,
                               "finished": [p.name for p in participants],
                               "skipped_failed": sorted(skipped), "skipped": skipped}
    strategies = set(ctx.settings.collaboration.strategies)
    if len(participants) >= 2 and strategies:
        from training_lib.collab.pairs import read_pairs

        items = read_pairs(records, ctx.data_root, ctx.settings) \
            if any(s.paired for s in chosen_strategies(sorted(strategies))) else []
        views = collect_views(items, ctx.data_root, ctx.settings) if items else Views([], {}, {})
        result = compute_knowledge(participants, views, ctx.settings)
        write_round(folder, result)
        summary.update(result.summary)
    else:
        summary["note"] = (f"{len(participants)} model(s) finished round {round_index}: "
                           "nothing to share" if strategies else "no strategies configured")
    summary["seconds"] = round(time.monotonic() - started, 2)
    knowledge.write_summary(folder, json.loads(json.dumps(summary, default=str)))
    return summary


def load_participants(ctx: "RunContext", round_index: int,
                      models: list[str]) -> tuple[list[Participant], dict[str, str]]:
    import json

    from training_lib.collab.pairs import view_of
    from training_lib.models.resolve import spec_for
    from training_lib.models.saving import load_model

    participants, skipped = [], {}
    for name in models:
        folder = ctx.round(name, round_index)
        if not folder.result.is_file() or not folder.model_file.is_file():
            skipped[name] = (f"no result of round {round_index} (training failed or did not "
                             "finish): its knowledge is left out")
            continue
        result = json.loads(folder.result.read_text())
        try:
            model = load_model(folder.model_file, compile=False)
        except Exception as e:  # noqa: BLE001 - an unreadable model is this model's problem
            skipped[name] = f"{folder.model_file} could not be loaded: {e}"
            continue
        history = result.get("history") or [{}]
        weight = float(history[-1].get("val_accuracy", 1.0) or 0.0)
        classes = result.get("classes") if result.get("task") == "classification" else None
        participants.append(Participant(name, model, classes,
                                        view_of(spec_for(name, ctx.settings).loader),
                                        int((result.get("sizes") or {}).get("train", 1)),
                                        max(weight, 1e-3)))
    return participants, skipped
