"""Detectors on SYNTHETIC curves with planted anomalies (formulas with seeded noise, made
only to know where the anomalies are): each finds what was planted, at the right step,
and stays quiet on clean curves; precision and recall over many curves (bench/anomalies.py)."""
from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np

from training_lib.config.anomalies import AnomalyConfig, kinds
from training_lib.monitoring.detectors import (DetectorSet, Divergence, GpuIdle, LossSpike,
                                               MemorySaturation, NonFinite, Overfitting, Plateau,
                                               ThroughputCollapse)

BENCH = Path(__file__).resolve().parents[3] / "bench" / "anomalies.py"


def _decay(n: int, seed: int = 0, noise: float = 0.03) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.2 + 2 * np.exp(-np.arange(n) / 40)) * (1 + noise * rng.normal(size=n))


def _feed(detector, values, steps=None):
    found = []
    prev = 0
    for i, v in enumerate(values):
        step = steps[i] if steps else 10 * (i + 1)
        f = detector.update(step, prev, float(v))
        prev = step
        if f:
            found.append(f)
    return found


def test_nan_fires_once_per_episode_with_the_first_bad_step():
    d = NonFinite()
    assert d.update(10, 0, {"loss": 1.0}) is None
    f = d.update(20, 10, {"loss": math.nan, "accuracy": 0.5})
    assert f.kind == "nan" and f.since_step == 11 and "loss" in f.message
    assert d.update(30, 20, {"loss": math.inf}) is None  # same episode
    assert d.update(40, 30, {"loss": 1.0}) is None
    assert d.update(50, 40, {"loss": math.nan}).step == 50  # a new one


def test_loss_spike_found_at_the_planted_point_and_not_on_the_clean_curve():
    clean = _decay(200)
    assert _feed(LossSpike(), clean) == []
    spiked = clean.copy()
    spiked[120] *= 3
    found = _feed(LossSpike(), spiked)
    assert [f.step for f in found] == [1210] and found[0].since_step == 1201


def test_a_steady_rise_is_divergence_not_a_string_of_spikes():
    loss = _decay(200)
    loss[100:] *= np.exp(0.1 * np.arange(100))
    found = _feed(Divergence(), loss)
    assert len(found) == 1 and found[0].kind == "divergence"
    assert 1010 <= found[0].step <= 1200
    assert found[0].since_step <= 1011  # a rollback goes to before the rise began
    spikes = _feed(LossSpike(), loss)
    assert len(spikes) <= 1


def test_divergence_rewind_forgets_the_rise():
    d = Divergence()
    loss = _decay(120)
    loss[60:] *= np.exp(0.15 * np.arange(60))
    found = _feed(d, loss)
    d.rewind(found[0].since_step - 1)
    assert all(s < found[0].since_step for s, _ in d.points) and not d.active


def test_throughput_collapse_needs_patience_and_ignores_epoch_boundaries():
    rng = np.random.default_rng(1)
    sps = 1000 * (1 + 0.05 * rng.normal(size=100))
    d = ThroughputCollapse()
    found = []
    for i, v in enumerate(sps):
        boundary = i % 20 == 0
        value = v * 0.2 if boundary or i == 50 else v  # validation windows and one stall
        found.append(d.update(10 * (i + 1), 10 * i, value, boundary))
    assert not any(found)
    sps[70:80] *= 0.1
    d = ThroughputCollapse()
    found = [f for i, v in enumerate(sps) if (f := d.update(10 * (i + 1), 10 * i, v))]
    assert len(found) == 1 and found[0].since_step == 701 and found[0].step == 730


def test_plateau_and_overfitting_on_epoch_curves():
    e = np.arange(30)
    train = 0.3 + np.exp(-e / 5)
    val = 0.4 + np.exp(-e / 5)
    val[12:] = val[12] + 0.02 * np.arange(18)  # rises from epoch 12 while train falls
    over, plateau = Overfitting(), Plateau()
    of = [f for i in e if (f := over.update(100 * (i + 1), train[i], val[i]))]
    assert len(of) == 1 and of[0].since_step == 1301 and of[0].step >= 1500
    assert not [f for i in e if (f := plateau.update(100 * (i + 1), val[i]))]  # climbing away
    flat = np.r_[val[:12], np.full(18, val[12])]
    plateau = Plateau()
    pf = [f for i in e if (f := plateau.update(100 * (i + 1), flat[i]))]
    assert len(pf) == 1 and pf[0].kind == "plateau" and pf[0].step == 1800


def test_memory_saturation_and_gpu_idle_on_samples():
    mem = MemorySaturation(0.95)
    fractions = [0.5, 0.6, 0.96, 0.97, 0.9, 0.92, 0.96]
    found = [mem.update({"step": i, "memory_fraction": f}) for i, f in enumerate(fractions)]
    assert [f.step for f in found if f] == [2, 6]  # re-armed once below the threshold
    gpu = {"index": 0, "mem_used_mb": 79000.0, "mem_total_mb": 80000.0, "util": 90}
    assert mem.update({"step": 9, "memory_fraction": 0.1, "gpus": [gpu]}).message.startswith(
        "gpu 0 memory")
    idle = GpuIdle(5, patience=3)
    utils = [90, 1, 2, 80, 0, 0, 0, 0, 70]
    found = [idle.update({"step": i, "gpus": [{"index": 0, "util": u}]})
             for i, u in enumerate(utils)]
    assert [f.step for f in found if f] == [6]
    assert GpuIdle().update({"step": 1, "gpus": [{"index": 0, "util": 0}]}, training=False) is None


def test_detector_set_uses_the_preset_thresholds():
    config = AnomalyConfig.model_validate({"loss_spike": {"z": 1000.0}})
    spiked = _decay(100)
    spiked[80] *= 5
    detectors = DetectorSet(config)
    found = [f for i, v in enumerate(spiked)
             for f in detectors.on_point(10 * (i + 1), 10 * i, float(v), {"loss": float(v)})]
    assert not [f for f in found if f.kind == "loss_spike"]
    detectors = DetectorSet(AnomalyConfig())
    found = [f for i, v in enumerate(spiked)
             for f in detectors.on_point(10 * (i + 1), 10 * i, float(v), {"loss": float(v)})]
    assert [f.kind for f in found] == ["loss_spike"]


def test_precision_and_recall_on_many_synthetic_curves():
    """The bench's planted curves, fewer of them: every kind found with high recall and few
    false alarms (the bench itself reports the full numbers)."""
    spec = importlib.util.spec_from_file_location("bench_anomalies", BENCH)
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench  # dataclasses look their module up
    spec.loader.exec_module(bench)
    result = bench.score(bench.make_cases(40, seed=3), AnomalyConfig())
    assert set(result) == set(kinds())
    for kind, r in result.items():
        assert r["planted"] == 40
        assert r["recall"] >= 0.85, (kind, r)
        # spikes share their look with heavy-tailed noise: the loosest floor
        assert r["precision"] >= (0.6 if kind == "loss_spike" else 0.75), (kind, r)
