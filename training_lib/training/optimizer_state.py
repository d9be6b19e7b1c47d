"""Carry an optimizer's state (moments, step count) to another compile of the same model.

A collaborative round continues the optimization of the previous one: recompiling
(with the collaborative loss, back to the model's own loss, or in the next round's
fresh worker process) would otherwise restart Adam's moments and bias correction
mid-training, which costs accuracy even when the round adds no knowledge.
"""
from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


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
