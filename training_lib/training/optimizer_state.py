"""Carry an optimizer's state (moments, step count) to another compile of the same model;
build an optimizer before the first fit.

A collaborative round continues the optimization of the previous one: recompiling
(with the collaborative loss, back to the model's own loss, or in the next round's
fresh worker process) would otherwise restart Adam's moments and bias correction
mid-training, which costs accuracy even when the round adds no knowledge.
"""
from __future__ import annotations

import contextlib
import logging
import weakref
from typing import Any

log = logging.getLogger(__name__)
_ORIGINAL_COMPILE: "weakref.WeakKeyDictionary[Any, dict]" = weakref.WeakKeyDictionary()


def carry_optimizer_state(source: Any, model: Any) -> bool:
    """Copy `source`'s variables into `model.optimizer` (built on the model's trainable
    variables). False, and nothing changed, when the two do not match one to one."""
    target = model.optimizer
    if source is None or target is None or source is target:
        return source is target and source is not None
    if type(source) is not type(target) or not source.variables:
        return False
    if not getattr(target, "built", False):
        target.build(model.trainable_variables)
    pairs = list(zip(target.variables, source.variables))
    if len(target.variables) != len(source.variables) or any(
            tuple(a.shape) != tuple(b.shape) for a, b in pairs):
        log.warning("optimizer state not carried: %d variables vs %d (or shapes differ)",
                    len(target.variables), len(source.variables))
        return False
    for a, b in pairs:
        a.assign(b)
    return True


def build_before_fit(model: Any) -> bool:
    """Create the optimizer's variables (Adam's moments) now, if the model is built and
    they are not. Keras' TensorFlow trainer without a distribution strategy leaves that to
    the first traced train step, and a step that creates variables is traced twice by
    TensorFlow: 0.6-1.0 s more in every process's first epoch for the audio, vision and
    text models on this CPU (README "Checkpoints and resume"). True if it built."""
    optimizer = getattr(model, "optimizer", None)
    model_built = getattr(model, "built", False)
    if optimizer is None or getattr(optimizer, "built", True) or not model_built:
        return False
    strategy = getattr(model, "distribute_strategy", None)  # TensorFlow's trainer only
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        optimizer.build(model.trainable_variables)
    return True


def compile_temporarily(model: Any, loss: Any, metrics: list[Any]) -> None:
    """Compile with another loss and metrics and an optimizer of the same kind and
    settings that continues the previous one's state; `restore_compile` undoes it."""
    _ORIGINAL_COMPILE.setdefault(model, model.get_compile_config())
    previous = model.optimizer
    model.compile(optimizer=type(previous).from_config(previous.get_config()), loss=loss,
                  metrics=metrics)
    carry_optimizer_state(previous, model)


def restore_compile(model: Any) -> bool:
    """Compile back with the model's own loss and metrics, keeping the optimizer's state
    (True if `compile_temporarily` had changed it)."""
    original = _ORIGINAL_COMPILE.pop(model, None)
    if original is None:
        return False
    previous = model.optimizer
    model.compile_from_config(original)
    carry_optimizer_state(previous, model)
    return True
