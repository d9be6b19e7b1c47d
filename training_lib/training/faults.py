"""Fault injection for tests, benchmarks and `make demo-faults` (never on by default).

Set TLIB_INJECT to a comma-separated list; the worker adds the matching callback:

    delay_per_step=0.05   sleep this long after every step (slows a run down to kill it)
    hang_at_step=30       stop making progress at step 30 (a live, stuck process)
    nan_at_step=40        make the loss NaN from step 40 (poisons the weights)
    exit_at_step=25       die abruptly (os._exit) at step 25, like a killed worker

Faults fire on the tries listed in TLIB_INJECT_TRIES (default "1"), so that the retry
after an injected crash runs clean and resumes.
"""
from __future__ import annotations

import logging
import os
import time
from typing import Any

import keras

log = logging.getLogger(__name__)
ENV = "TLIB_INJECT"


def parse(spec: str | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in filter(None, (spec or "").split(",")):
        key, _, value = item.partition("=")
        try:
            out[key.strip()] = float(value)
        except ValueError as e:
            raise ValueError(f"{ENV}: {item!r} is not key=number") from e
    return out


class InjectFaults(keras.callbacks.Callback):
    def __init__(self, faults: dict[str, float], start_step: int = 0) -> None:
        super().__init__()
        self.faults = faults
        self.step = start_step

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.step += 1
        f = self.faults
        if "delay_per_step" in f:
            time.sleep(f["delay_per_step"])
        if "exit_at_step" in f and self.step == int(f["exit_at_step"]):
            log.error("injected fault: exiting at step %d", self.step)
            os._exit(137)
        if "hang_at_step" in f and self.step >= int(f["hang_at_step"]):
            log.error("injected fault: hanging at step %d", self.step)
            while True:
                time.sleep(3600)
        if "nan_at_step" in f and self.step == int(f["nan_at_step"]):
            log.error("injected fault: NaN weights at step %d", self.step)
            for variable in self.model.trainable_variables:
                variable.assign(keras.ops.full(variable.shape, float("nan"), variable.dtype))


def from_environment(start_step: int = 0, try_number: int = 1) -> list[keras.callbacks.Callback]:
    faults = parse(os.environ.get(ENV))
    tries = {int(t) for t in os.environ.get(f"{ENV}_TRIES", "1").split(",") if t.strip()}
    if not faults or try_number not in tries:
        return []
    log.warning("fault injection active: %s", faults)
    return [InjectFaults(faults, start_step)]
