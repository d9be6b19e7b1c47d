"""Anomaly detectors on SYNTHETIC curves with planted anomalies: precision and recall per kind.

Everything in this file is synthetic by design and labeled so: the curves are formulas
with seeded noise, made only to know exactly where the anomalies are. No report or run
of the platform ever shows these numbers as training results.

For each kind, `--cases` series carry one planted anomaly each and as many are clean
(the clean ones carry distractors that must not fire: brief throughput dips, one-sample
GPU idles, ordinary noise with heavy tails). The detectors run with the preset defaults
(`AnomalyConfig()`), fed exactly as the training monitor feeds them: loss as interval
means at log points, epoch losses at epoch ends, system samples one by one.

A detection of kind K is a true positive when it falls inside the window of a planted K
anomaly (from its start to its end plus the allowed delay) that was not matched yet;
any other detection of kind K is a false positive; a second detection of an already
matched anomaly is counted as a duplicate.

    python bench/anomalies.py [--cases 200] [--seed 7]

Ends with one JSON line: {"bench": "anomalies", "kinds": {kind: {precision, recall, ...}}}.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from training_lib.config.anomalies import AnomalyConfig, kinds  # noqa: E402
from training_lib.monitoring.detectors import DetectorSet, Finding  # noqa: E402


@dataclass
class Case:
    """One synthetic series: log points, epochs or system samples, and what was planted."""

    kind: str
    # (step, loss, samples/s, first point of an epoch)
    points: list[tuple[int, float, float, bool]] = field(default_factory=list)
    epochs: list[tuple[int, float, float]] = field(default_factory=list)  # step, train, val
    samples: list[dict[str, Any]] = field(default_factory=list)
    planted: list[tuple[str, int, int]] = field(default_factory=list)  # kind, first, last step


def _noise(rng: np.random.Generator, n: int, scale: float) -> np.ndarray:
    return 1 + scale * rng.standard_t(4, n) / np.sqrt(2)  # heavy tails, unit variance x scale


def _loss_curve(rng: np.random.Generator, n: int) -> np.ndarray:
    a, c, tau = rng.uniform(0.5, 3), rng.uniform(0.05, 0.8), rng.uniform(20, 150)
    i = np.arange(n)
    return (c + a * np.exp(-i / tau)) * _noise(rng, n, rng.uniform(0.01, 0.08))


def _throughput(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    base = rng.uniform(200, 5000) * _noise(rng, n, rng.uniform(0.03, 0.12))
    epoch_len = int(rng.integers(10, 60))
    boundary = (np.arange(n) % epoch_len) == 0
    base[boundary] *= rng.uniform(0.1, 0.5, boundary.sum())  # validation + tracing in the window
    base[:2] *= 0.05  # graph tracing of the first steps
    for k in rng.choice(np.arange(3, n), size=max(1, n // 80), replace=False):
        base[k] *= rng.uniform(0.1, 0.3)  # a one-point stall (GC, checkpoint flush): not a collapse
    return base, boundary


def point_case(rng: np.random.Generator, kind: str | None) -> Case:
    n = int(rng.integers(120, 400))
    loss = _loss_curve(rng, n)
    sps, boundary = _throughput(rng, n)
    planted = []
    if kind == "nan":
        k = int(rng.integers(20, n - 10))
        m = int(rng.integers(1, 6))
        loss[k:k + m] = np.nan
        planted.append(("nan", k, k))
    elif kind == "loss_spike":
        k = int(rng.integers(30, n - 5))
        m = int(rng.integers(1, 3))
        loss[k:k + m] *= rng.uniform(1.8, 6.0)
        planted.append(("loss_spike", k, k + m - 1))
    elif kind == "divergence":
        k = int(rng.integers(int(0.3 * n), int(0.8 * n)))
        rate = rng.uniform(0.02, 0.2)
        loss[k:] *= np.exp(rate * np.arange(n - k))
        n = min(n, k + 60)  # a diverging run ends in NaN or is stopped
        loss, sps, boundary = loss[:n], sps[:n], boundary[:n]
        planted.append(("divergence", k, k + 40))
    elif kind == "throughput_collapse":
        k = int(rng.integers(20, n - 10))
        m = int(rng.integers(4, 30))
        sps[k:k + m] *= rng.uniform(0.03, 0.25)
        boundary[k:k + m] = False
        planted.append(("throughput_collapse", k, k + m))
    case = Case(kind or "clean")
    case.points = [(10 * (i + 1), float(loss[i]), float(sps[i]), bool(boundary[i]))
                   for i in range(n)]
    case.planted = [(p, 10 * (a + 1), 10 * (b + 1)) for p, a, b in planted]
    return case


def epoch_case(rng: np.random.Generator, kind: str | None) -> Case:
    n = int(rng.integers(15, 60))
    e = np.arange(n)
    steps = 50 * (e + 1)
    noise = rng.uniform(0.002, 0.01)
    train = (rng.uniform(0.05, 0.5) + rng.uniform(0.5, 2) * np.exp(-e / rng.uniform(3, 12))
             ) * _noise(rng, n, noise)
    gap = rng.uniform(0.02, 0.2)
    # a validation curve that keeps improving: a slower decay than the epochs it has
    val = (train * 0 + rng.uniform(0.1, 0.6) + rng.uniform(0.5, 2)
           * np.exp(-e / rng.uniform(n / 2, 2 * n)) + gap) * _noise(rng, n, noise)
    planted = []
    if kind == "plateau":  # learning stops: both losses flat from epoch k
        k = int(rng.integers(5, n - 8))
        val[k:] = val[k] * _noise(rng, n - k, noise)
        train[k:] = train[k] * _noise(rng, n - k, noise)
        planted.append(("plateau", k, n - 1))
    elif kind == "overfitting":
        k = int(rng.integers(4, n - 8))
        slope = rng.uniform(0.01, 0.05) * val[k]
        val[k:] = val[k] + slope * np.arange(n - k) * _noise(rng, n - k, noise)
        planted.append(("overfitting", k, n - 1))
    case = Case(kind or "clean")
    case.epochs = [(int(steps[i]), float(train[i]), float(val[i])) for i in range(n)]
    case.planted = [(p, int(steps[a]), int(steps[b])) for p, a, b in planted]
    return case


def system_case(rng: np.random.Generator, kind: str | None) -> Case:
    n = int(rng.integers(100, 400))
    memory = np.clip(rng.uniform(0.2, 0.8) + np.cumsum(rng.normal(0, 0.003, n))
                     + rng.normal(0, 0.01, n), 0.05, 0.9)
    util = np.clip(rng.uniform(60, 95) + rng.normal(0, 6, n), 0, 100)
    for k in rng.choice(np.arange(0, n, 5), size=max(1, n // 40), replace=False):
        util[k:k + int(rng.integers(1, 3))] = rng.uniform(0, 3)  # validation, checkpoint: brief
    planted = []
    if kind == "memory_saturation":
        k = int(rng.integers(10, n - 10))
        m = int(rng.integers(3, 40))
        memory[k:k + m] = rng.uniform(0.96, 0.995, len(memory[k:k + m]))
        planted.append(("memory_saturation", k, k + m))
    elif kind == "gpu_idle":
        k = int(rng.integers(10, n - 10))
        m = int(rng.integers(4, 40))
        util[k:k + m] = rng.uniform(0, 3, len(util[k:k + m]))
        planted.append(("gpu_idle", k, k + m))
    case = Case(kind or "clean")
    case.samples = [{"step": i, "memory_fraction": float(memory[i]),
                     "gpus": [{"index": 0, "util": float(util[i]), "mem_used_mb": 1000.0,
                               "mem_total_mb": 80000.0}]} for i in range(n)]
    case.planted = planted
    return case


FAMILY = {"nan": point_case, "loss_spike": point_case, "divergence": point_case,
          "throughput_collapse": point_case, "plateau": epoch_case, "overfitting": epoch_case,
          "memory_saturation": system_case, "gpu_idle": system_case}


def detect(case: Case, config: AnomalyConfig) -> list[Finding]:
    detectors = DetectorSet(config, on_gpu=True)
    found: list[Finding] = []
    prev = 0
    for step, loss, sps, boundary in case.points:
        found += detectors.on_point(step, prev, loss, {"loss": loss}, sps, boundary)
        prev = step
    for step, train, val in case.epochs:
        found += detectors.on_epoch(step, {"epoch_loss": train, "epoch_val_loss": val})
    for sample in case.samples:
        found += detectors.on_system(sample)
    return found


def score(cases: list[Case], config: AnomalyConfig) -> dict[str, dict[str, Any]]:
    stats = {k: {"planted": 0, "tp": 0, "fp": 0, "duplicates": 0, "delays": []} for k in kinds()}
    for case in cases:
        matched: set[int] = set()
        for kind, _, _ in case.planted:
            stats[kind]["planted"] += 1
        for f in detect(case, config):
            hit = next((i for i, (kind, first, last) in enumerate(case.planted)
                        if kind == f.kind and first <= f.step <= last), None)
            if hit is None:
                stats[f.kind]["fp"] += 1
            elif hit in matched:
                stats[f.kind]["duplicates"] += 1
            else:
                matched.add(hit)
                stats[f.kind]["tp"] += 1
                stats[f.kind]["delays"].append(f.step - case.planted[hit][1])
    out = {}
    for kind, s in stats.items():
        detected = s["tp"] + s["fp"]
        out[kind] = {"planted": s["planted"], "tp": s["tp"], "fp": s["fp"],
                     "duplicates": s["duplicates"],
                     "precision": round(s["tp"] / detected, 4) if detected else None,
                     "recall": round(s["tp"] / s["planted"], 4) if s["planted"] else None,
                     "median_delay": float(np.median(s["delays"])) if s["delays"] else None}
    return out


def make_cases(n: int, seed: int) -> list[Case]:
    rng = np.random.default_rng(seed)
    cases = []
    for kind in [k for k in kinds() if k in FAMILY]:  # the kinds this bench can plant
        for _ in range(n):
            cases.append(FAMILY[kind](rng, kind))
            cases.append(FAMILY[kind](rng, None))  # a clean series of the same family
    return cases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200, help="planted series per kind")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    cases = make_cases(args.cases, args.seed)
    result = score(cases, AnomalyConfig())
    print("SYNTHETIC curves, planted anomalies, preset-default thresholds")
    print(f"{'kind':22} {'planted':>7} {'tp':>5} {'fp':>5} {'dup':>4} {'precision':>9} "
          f"{'recall':>7} {'delay':>7}")
    for kind, r in result.items():
        delay = "-" if r["median_delay"] is None else f"{r['median_delay']:.0f}"
        print(f"{kind:22} {r['planted']:7d} {r['tp']:5d} {r['fp']:5d} {r['duplicates']:4d} "
              f"{_fmt(r['precision']):>9} {_fmt(r['recall']):>7} {delay:>7}")
    print("delay: median steps (point kinds), steps (epoch kinds) or samples (system kinds) "
          "from the planted start to the detection")
    print(json.dumps({"bench": "anomalies", "synthetic": True, "seed": args.seed,
                      "cases_per_kind": args.cases, "series": len(cases), "kinds": result}))
    return 0


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    sys.exit(main())
