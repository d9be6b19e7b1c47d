"""Schema bounds that keep a valid preset buildable: finite numbers, durations a timedelta
holds, seeds numpy accepts."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from training_lib.config import load_preset
from training_lib.config.schema import MAX_SECONDS
from training_lib.errors import PresetError

BASE = "description: x\ntarget_models: [math_model]\nepochs: 1\n"


def _load(tmp_path: Path, extra: str):
    path = tmp_path / "p.yaml"
    path.write_text(BASE + extra)
    return load_preset(path)


@pytest.mark.parametrize("extra", [
    "retry_delay_seconds: .inf\n", "retry_delay_seconds: 1.0e+999\n", "learning_rate: .nan\n",
    "stall_timeout_seconds: .inf\n", "checkpoint: {every_seconds: .inf}\n",
    "promotion: {min_metric: -.inf}\n", "anomalies: {loss_spike: {z: .inf}}\n",
])
def test_non_finite_numbers_are_refused(tmp_path, extra):
    with pytest.raises(PresetError, match="expected a finite number"):
        _load(tmp_path, extra)


@pytest.mark.parametrize("key", ["retry_delay_seconds", "resource_wait_timeout_seconds",
                                 "stall_timeout_seconds"])
def test_durations_stay_within_what_a_timedelta_holds(tmp_path, key):
    with pytest.raises(PresetError, match=f"key '{key}': got 1e\\+300 .*less than or equal "
                                          f"to {MAX_SECONDS}"):
        _load(tmp_path, f"{key}: 1.0e+300\n")
    longest = _load(tmp_path, f"{key}: {MAX_SECONDS}\n").settings
    assert dt.timedelta(seconds=getattr(longest, key)) == dt.timedelta(days=366)


def test_execution_timeout_is_bounded_in_minutes(tmp_path):
    with pytest.raises(PresetError, match="key 'execution_timeout_minutes': got "
                                          "1000000000000.0 .*less than or equal to 527040"):
        _load(tmp_path, "execution_timeout_minutes: 1.0e+12\n")
    assert _load(tmp_path, "execution_timeout_minutes: 90\n").settings \
        .execution_timeout_minutes == 90


@pytest.mark.parametrize(("seed", "ok"), [(0, True), (2**32 - 1, True), (2**32, False),
                                          (-1, False)])
def test_seed_is_in_numpys_range(tmp_path, seed, ok):
    if ok:
        assert _load(tmp_path, f"seed: {seed}\n").settings.seed == seed
    else:
        with pytest.raises(PresetError, match="key 'seed'"):
            _load(tmp_path, f"seed: {seed}\n")
