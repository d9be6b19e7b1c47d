"""The numbers of a report, from the run folder: per model and round what training logged,
what the machine did, what went wrong (faults), and the anomaly counts."""
from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

from training_lib.reports.metrics import Streams
from training_lib.runs.retries import retries_of, retry_line


def training_summary(streams: Streams) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for model, rounds in streams.items():
        for round_index, (rows, events) in rounds.items():
            losses = [r["loss"] for r in rows if "loss" in r and "epoch_loss" not in r]
            epochs = [{"epoch": int(r.get("epoch", 0)), "step": int(r["step"]),
                       **{k.removeprefix("epoch_"): _finite_or_none(v) for k, v in r.items()
                          if k.startswith("epoch_")}}
                      for r in rows if any(k.startswith("epoch_") for k in r)]
            done = [e for e in events if e.get("event") == "fit_done"]
            out.setdefault(model, {})[f"round_{round_index}"] = {
                "steps_logged": len(losses),
                "first_loss": _finite_or_none(losses[0]) if losses else None,
                "last_loss": _finite_or_none(losses[-1]) if losses else None,
                "epochs": epochs,
                "tries": sorted({int(e.get("try", 1)) for e in events
                                 if e.get("event") == "start"}),
                "global_step": done[-1].get("global_step") if done else None,
                "events": [e for e in events if e.get("event") != "start"],
            }
    return out


def system_summary(system: dict[str, dict[int, list[dict[str, Any]]]]) -> dict[str, Any]:
    out: dict[str, dict[str, Any]] = {}
    for model, rounds in system.items():
        for round_index, samples in rounds.items():
            if not samples:
                continue
            cpu = [s.get("cpu_percent", 0.0) for s in samples]
            seconds = samples[-1]["time"] - samples[0]["time"]
            gpus: dict[str, dict[str, Any]] = {}
            for index in sorted({g["index"] for s in samples for g in s.get("gpus") or []}):
                seen = [g for s in samples for g in s.get("gpus") or [] if g["index"] == index]
                temps = [g["temp_c"] for g in seen if g.get("temp_c") is not None]
                gpus[str(index)] = {"util_mean": statistics.fmean(g["util"] for g in seen),
                                    "mem_used_mb_max": max(g["mem_used_mb"] for g in seen),
                                    "temp_c_max": max(temps) if temps else None}
            out.setdefault(model, {})[f"round_{round_index}"] = {
                "samples": len(samples), "seconds": max(0.0, seconds),
                "cpu_percent_mean": statistics.fmean(cpu), "cpu_percent_max": max(cpu),
                "rss_mb_max": max(s.get("rss_mb", 0.0) for s in samples),
                "memory_fraction_max": max(s.get("memory_fraction", 0.0) for s in samples),
                "written_mb": _integral(samples, "write_mb_s"),
                "read_mb": _integral(samples, "read_mb_s"),
                "gpus": gpus,
            }
    return out


def anomaly_counts(events: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    counts: dict[str, Counter] = {}
    for e in events:
        counts.setdefault(e["model"], Counter())[e["kind"]] += 1
    return {m: dict(c) for m, c in sorted(counts.items())}


def faults(streams: Streams, evaluation: dict[str, Any], results: dict[str, dict[str, Any]],
           anomalies: list[dict[str, Any]], recorded: list[dict[str, Any]] = ()
           ) -> list[dict[str, Any]]:
    """What went wrong while training, as recorded: the run's faults.jsonl (crashed,
    stalled, killed, lost tries, unhealthy nodes, migrations), retries (and where they
    resumed), injected faults, rollbacks, early stops, failed models, MLflow delivery."""
    found: list[dict[str, Any]] = []
    for f in recorded:
        where = f"try {f.get('try')} on {f.get('host')} ({f.get('device')})"
        at = f" at step {f['step']}" if f.get("step") is not None else ""
        signal = f", signal {f['signal']}" if f.get("signal") else ""
        first_line = (str(f.get("error") or "").splitlines() or [""])[0]
        found.append(_fault(f.get("model"), f.get("round"), str(f.get("kind", "fault")),
                            f"{where}{at}{signal}: {first_line}"))
    for model, rounds in sorted(streams.items()):
        for round_index, (_, events) in sorted(rounds.items()):
            done = {e.get("try", 1): e for e in events if e.get("event") == "fit_done"}
            described = set()
            for r in retries_of(recorded, events, model, round_index):
                described.add(r["next_try"])
                found.append(_fault(model, round_index, "retry", retry_line(r)))
            for e in events:
                kind = e.get("event")
                attempt = e.get("try", 1)
                if kind == "start" and e.get("injected_faults"):
                    spec = ", ".join(f"{k}={v:g}" for f in e["injected_faults"]
                                     for k, v in f.items())
                    found.append(_fault(model, round_index, "injected",
                                        f"TLIB_INJECT {spec} on try {attempt}"))
                if kind == "start" and attempt > 1 and attempt not in described:
                    resumed = done.get(attempt, {}).get("resumed_from_step")
                    found.append(_fault(model, round_index, "retry", f"try {attempt} started" + (
                        f", resumed from the checkpoint at step {resumed}" if resumed else
                        ", from the beginning" if attempt in done else ", did not finish")))
                if kind == "rollback":
                    found.append(_fault(model, round_index, "rollback",
                                        f"rolled back from step {e.get('from_step')} to "
                                        f"{e.get('to_step')} ({e.get('reason')}); learning rate "
                                        f"{_fmt(e.get('learning_rate'))}"))
    for model, row in sorted(evaluation.items()):
        if row.get("status") == "failed":
            found.append(_fault(model, None, "failed", row.get("reason", "did not finish")))
    for model, result in sorted(results.items()):
        delivery = result.get("metrics_delivery") or {}
        if delivery.get("failures") or delivery.get("dropped"):
            found.append(_fault(model, result.get("round"), "metrics_delivery",
                                f"MLflow metrics: {delivery.get('failures')} failed deliveries, "
                                f"{delivery.get('dropped')} dropped "
                                f"({delivery.get('last_error')})"))
    for e in anomalies:
        if e.get("action") == "stop":
            found.append(_fault(e["model"], e.get("round"), "stopped",
                                f"training stopped early at step {e['step']}: {e['kind']}"))
    return found


def _fault(model: str | None, round_index: int | None, kind: str, detail: str) -> dict[str, Any]:
    return {"model": model, "round": round_index, "kind": kind, "detail": detail}


def _integral(samples: list[dict[str, Any]], key: str) -> float | None:
    total, seen = 0.0, False
    for before, after in zip(samples, samples[1:]):
        if key in after:
            seen = True
            total += after[key] * max(0.0, after["time"] - before["time"])
    return total if seen else None


def _finite_or_none(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and value == value and abs(
        value) != float("inf") else None


def _fmt(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, (int, float)) else str(value)
