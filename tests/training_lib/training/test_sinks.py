"""PROGRESS lines: speed and ETA from a moving window, never "0 samples/s" mid-run."""
from __future__ import annotations

import io
import re

import pytest

from training_lib.training import sinks


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _lines(stream: io.StringIO) -> list[str]:
    return [line for line in stream.getvalue().splitlines() if line]


def test_rate_and_eta_from_the_window(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr(sinks.time, "monotonic", clock)
    out = io.StringIO()
    printer = sinks.ProgressPrinter("m", total_steps=1000, epochs=4, every_s=5, stream=out)
    # the engine logs every 10 steps at 20 steps/s (batch 32: 640 samples/s), and emits
    # an epoch-end record (no rate) at step 250
    for step in range(10, 410, 10):
        clock.now += 0.5
        printer.log(step, {"loss": 1.0, "samples_per_second": 640.0, "epoch": 1 + step // 250})
        if step == 250:
            printer.log(step, {"epoch_loss": 0.9, "epoch": 1})
    lines = _lines(out)
    assert lines, "no PROGRESS line in 20 s of training"
    for line in lines:
        assert " 0 samples/s" not in line and "ETA ?" not in line, line
    last = re.search(r"step (\d+)/1000 epoch (\d)/4 loss [\d.]+ (\d+) samples/s ETA (\S+)",
                     lines[-1])
    assert last, lines[-1]
    step, rate, eta = int(last.group(1)), int(last.group(3)), last.group(4)
    assert rate == 640
    remaining = (1000 - step) / 20  # seconds at 20 steps/s
    minutes, seconds = re.fullmatch(r"(?:(\d+)m)?(\d+)s", eta).groups()
    assert abs(int(minutes or 0) * 60 + int(seconds) - remaining) <= 1


def test_window_follows_a_slowdown(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr(sinks.time, "monotonic", clock)
    out = io.StringIO()
    printer = sinks.ProgressPrinter("m", total_steps=10_000, epochs=1, every_s=5, stream=out,
                                    window_s=10)
    step = 0
    for rate, dt in ((1000.0, 0.1), (100.0, 1.0)):  # 10 steps per log at 100, then 10 steps/s
        for _ in range(60):
            clock.now += dt
            step += 10
            printer.log(step, {"loss": 0.5, "samples_per_second": rate, "epoch": 1})
    last = _lines(out)[-1]
    assert " 100 samples/s" in last, last  # the old, fast rate has left the window


def test_no_line_before_a_rate_and_a_final_line(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr(sinks.time, "monotonic", clock)
    out = io.StringIO()
    printer = sinks.ProgressPrinter("m", total_steps=20, epochs=1, every_s=5, stream=out)
    clock.now += 10
    printer.log(10, {"loss": 1.0, "epoch": 1})  # no rate yet: nothing to say
    assert _lines(out) == []
    clock.now += 10
    printer.log(20, {"loss": 0.5, "epoch": 1})
    assert _lines(out) == ["PROGRESS m step 20/20 epoch 1/1 loss 0.5000 1.0 steps/s ETA 0s"]
