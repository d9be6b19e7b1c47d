"""Read what a run recorded in each round folder (`runs.folder.RoundFolder`): metric
streams (`.metrics`: steps, epochs, start/fit_done/rollback events), system samples
(`.system`: CPU, memory, disk I/O, GPUs), anomaly events (`.anomalies`) and the spans
each model trained in.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from training_lib.monitoring.events import run_events
from training_lib.runs.files import read_jsonl
from training_lib.runs.folder import RunFolder

Streams = dict[str, dict[int, tuple[list[dict[str, Any]], list[dict[str, Any]]]]]


def read_stream(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(metric rows, events) of one metrics.jsonl, as the model finally went: the newest line
    wins for a repeated step, and rows of an abandoned branch are dropped (steps after the
    checkpoint a rollback went back to, logged before it; steps of an earlier try after the
    checkpoint a later try resumed from)."""
    rows: dict[tuple[int, str], dict[str, Any]] = {}
    events: list[dict[str, Any]] = []
    if not path.exists():
        return [], []
    for line in path.read_text().splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue  # a line cut by a kill
        if "event" in item:
            events.append(item)
            if item["event"] == "rollback" and isinstance(item.get("to_step"), int):
                rows = {k: r for k, r in rows.items() if k[0] <= item["to_step"]}
            if item["event"] == "fit_done" and isinstance(item.get("resumed_from_step"), int):
                rows = {k: r for k, r in rows.items() if k[0] <= item["resumed_from_step"]
                        or r.get("try", 1) >= item.get("try", 1)}
            continue
        kind = "epoch" if any(k.startswith("epoch_") for k in item) else "step"
        rows[(item["step"], kind)] = item  # later lines (later tries) replace earlier ones
    return [rows[k] for k in sorted(rows)], events


def run_streams(run_dir: Path) -> Streams:
    """{model: {round: (rows, events)}} for every model of a run."""
    out: Streams = {}
    for folder in RunFolder(run_dir).rounds():
        if folder.metrics.exists():
            out.setdefault(folder.model, {})[folder.index] = read_stream(folder.metrics)
    return out


def run_system(run_dir: Path) -> dict[str, dict[int, list[dict[str, Any]]]]:
    """{model: {round: system samples}}."""
    out: dict[str, dict[int, list[dict[str, Any]]]] = {}
    for folder in RunFolder(run_dir).rounds():
        if folder.system.exists():
            out.setdefault(folder.model, {})[folder.index] = read_jsonl(folder.system)
    return out


def run_anomalies(run_dir: Path) -> list[dict[str, Any]]:
    return run_events(run_dir)


def training_spans(streams: Streams) -> dict[tuple[str, int], list[tuple[float, float]]]:
    """When each model and round was training: (start, end) wall times per try, from its
    start and fit_done events (a try killed before fit_done ends at its last record)."""
    spans: dict[tuple[str, int], list[tuple[float, float]]] = {}
    for model, rounds in streams.items():
        for round_index, (rows, events) in rounds.items():
            starts = {e.get("try", 1): e["time"] for e in events if e.get("event") == "start"}
            ends = {e.get("try", 1): e["time"] for e in events if e.get("event") == "fit_done"}
            last = {}
            for r in rows:
                last[r.get("try", 1)] = max(last.get(r.get("try", 1), 0.0), r.get("time", 0.0))
            for attempt, start in sorted(starts.items()):
                end = ends.get(attempt) or last.get(attempt) or start
                spans.setdefault((model, round_index), []).append((start, end))
    return spans


def metric_keys(rows: list[dict[str, Any]]) -> tuple[str | None, str | None]:
    """(train, validation) epoch keys of the model's first non-loss metric, if any."""
    for row in rows:
        for key in sorted(row):
            if key.startswith("epoch_") and "loss" not in key and not key.startswith("epoch_val_"):
                name = key.removeprefix("epoch_")
                val = f"epoch_val_{name}"
                return key, val if any(val in r for r in rows) else None
    return None, None
