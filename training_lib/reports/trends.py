"""This run against earlier runs of the same preset (var/runs/<dag_id>/*/): test metric,
throughput and training time per model, pipeline duration and data size, so that a
regression in quality or speed is visible at a glance.

Only comparable runs form the baseline: earlier runs that failed (failure.json, a model
that failed or never started, no evaluation) or read another data folder are left out and
listed with the reason (`compare_with_earlier`), so that three failed runs with retries
cannot make a real slowdown look normal.

Everything comes from the earlier runs' folders: config.json (when the run started),
scan.json and records.jsonl (data), models/*/round_*/result.json (metrics, speed),
evaluation.json and registry.json (when the pipeline ended).
"""
from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import TYPE_CHECKING, Any

from training_lib.monitoring.events import run_events
from training_lib.reports.plots import pyplot
from training_lib.runs.files import read_json_or_none
from training_lib.runs.folder import RunFolder

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# a change beyond these, against the median of the earlier runs, is flagged
METRIC_DROP = 0.02  # absolute, in metric units (accuracy, R², exact match)
SPEED_DROP = 0.8  # samples/s below 80% of the median
SLOWER = 1.25  # durations above 125% of the median


def summarize_run(run_dir: Path) -> dict[str, Any] | None:
    """What a run recorded, in a few numbers (None: not a run folder)."""
    folder = RunFolder(run_dir)
    if not folder.config.exists():
        return None
    meta = read_json_or_none(folder.config) or {}
    started = folder.config.stat().st_mtime
    ends = [p.stat().st_mtime for p in (folder.evaluation, folder.registry) if p.exists()]
    models: dict[str, dict[str, Any]] = {}
    for round_folder in folder.rounds():
        result = read_json_or_none(round_folder.result)
        if not result:
            continue
        ends.append(result.get("finished") or round_folder.result.stat().st_mtime)
        models[round_folder.model] = {  # the newest round wins (rounds() is in order)
            "metric": result.get("metric"), "test": result.get("test_metric"),
            "baseline": result.get("baseline"),
            "samples_per_second": result.get("samples_per_second"),
            "train_seconds": result.get("seconds"),
            "train_rows": (result.get("sizes") or {}).get("train")}
    for event in run_events(run_dir):
        if event["model"] in models:
            models[event["model"]]["anomalies"] = models[event["model"]].get("anomalies", 0) + 1
    scan = read_json_or_none(folder.scan) or {}
    return {"run_id": meta.get("run_id", run_dir.name), "run_dir": str(run_dir),
            "started": started, "pipeline_s": (max(ends) - started) if ends else None,
            "files": scan.get("files"), "data_mb": _data_mb(folder.records),
            "data_root": _data_root(meta), "failed": _failed(folder), "models": models}


def compare_with_earlier(run_dir: Path, limit: int = 10) -> dict[str, Any]:
    """The runs this run is compared with: `runs` holds up to `limit` comparable earlier
    runs of the same DAG (finished, same data folder), oldest first, then this run;
    `excluded` the earlier runs left out, each with its reason; `basis` says so in a line."""
    current = summarize_run(run_dir)
    if current is None:
        return {"runs": [], "excluded": [], "basis": "no run to compare"}
    earlier, excluded = [], []
    for sibling in run_dir.parent.iterdir():
        if sibling == run_dir or not sibling.is_dir():
            continue
        summary = summarize_run(sibling)
        if summary is None or summary["started"] >= current["started"]:
            continue
        reason = _not_comparable(summary, current)
        if reason:
            excluded.append({"run_id": summary["run_id"], "started": summary["started"],
                             "reason": reason})
        else:
            earlier.append(summary)
    earlier.sort(key=lambda s: s["started"])
    excluded.sort(key=lambda s: s["started"])
    used = earlier[-limit:]
    basis = (f"compared with {len(used)} earlier finished run(s) on {current['data_root']}"
             + (f": {', '.join(r['run_id'] for r in used)}" if used else "")
             + (f"; left out {len(excluded)} ({_counted(e['reason'] for e in excluded)})"
                if excluded else ""))
    return {"runs": used + [current], "excluded": excluded, "basis": basis}


def history(run_dir: Path, limit: int = 10) -> list[dict[str, Any]]:
    """Summaries of up to `limit` comparable runs of the same DAG that started before this
    one, oldest first, followed by this run (see `compare_with_earlier`)."""
    return compare_with_earlier(run_dir, limit)["runs"]


def _not_comparable(run: dict[str, Any], current: dict[str, Any]) -> str | None:
    if run["failed"]:
        return run["failed"] if run["failed"].startswith("trained nothing") \
            else f"failed: {run['failed']}"
    if run["data_root"] != current["data_root"]:
        return f"other data folder {run['data_root']}"
    return None


def _failed(folder: RunFolder) -> str | None:
    """Why a run did not end well, from its files (None: it finished, every model trained
    or was skipped on purpose)."""
    failure = read_json_or_none(folder.failure)
    if failure:
        return f"at {failure.get('task')}"
    evaluation = read_json_or_none(folder.evaluation)
    if evaluation is None:
        incremental = read_json_or_none(folder.incremental) or {}
        return "trained nothing (no new data)" if incremental.get("proceed") is False \
            else "did not finish"
    bad = sorted(m for m, r in evaluation.items()
                 if r.get("status") in ("failed", "not started"))
    return f"models did not train ({', '.join(bad)})" if bad else None


def _data_root(meta: dict[str, Any]) -> str | None:
    from training_lib.settings import resolve_data_root

    root = (meta.get("resolved") or {}).get("data_root")
    return str(resolve_data_root(root).resolve()) if root else None


def _counted(reasons: Any) -> str:
    counts: dict[str, int] = {}
    for reason in reasons:  # "failed: ..." / "other data folder ..."
        kind = ("failed" if reason.startswith("failed") else "trained nothing"
                if reason.startswith("trained nothing") else "on another data folder")
        counts[kind] = counts.get(kind, 0) + 1
    return ", ".join(f"{n} {kind}" for kind, n in counts.items())


def regressions(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Where the last run is worse than the median of the earlier ones."""
    if len(runs) < 2:
        return []
    *earlier, current = runs
    found = []

    def check(what: str, model: str | None, now: Any, before: list[Any], worse: Any,
              unit: str = "") -> None:
        before = [b for b in before if isinstance(b, (int, float))]
        if not isinstance(now, (int, float)) or not before:
            return
        median = statistics.median(before)
        if worse(now, median):
            found.append({"what": what, "model": model, "current": now, "median": median,
                          "runs": len(before),
                          "text": f"{model + ': ' if model else ''}{what} {now:.4g}{unit} vs "
                                  f"median {median:.4g}{unit} of {len(before)} earlier runs"})

    for model, row in sorted(current["models"].items()):
        past = [r["models"].get(model, {}) for r in earlier]
        check(f"test {row.get('metric')}", model, row.get("test"), [p.get("test") for p in past],
              lambda now, med: now < med - METRIC_DROP)
        check("samples/s", model, row.get("samples_per_second"),
              [p.get("samples_per_second") for p in past], lambda now, med: now < SPEED_DROP * med)
        check("training time", model, row.get("train_seconds"),
              [p.get("train_seconds") for p in past], lambda now, med: now > SLOWER * med, " s")
    check("pipeline duration", None, current.get("pipeline_s"),
          [r.get("pipeline_s") for r in earlier], lambda now, med: now > SLOWER * med, " s")
    return found


def draw_trends(runs: list[dict[str, Any]], title: str) -> "Figure | None":
    """Test metric, samples/s per model and pipeline duration across runs (this run last)."""
    if len(runs) < 2:
        return None
    plt = pyplot()
    fig, (ax_metric, ax_speed, ax_time) = plt.subplots(1, 3, figsize=(12, 3.6))
    xs = list(range(len(runs)))
    models = sorted({m for r in runs for m in r["models"]})
    for model in models:
        for ax, key in ((ax_metric, "test"), (ax_speed, "samples_per_second")):
            points = [(x, r["models"].get(model, {}).get(key)) for x, r in zip(xs, runs)]
            points = [(x, y) for x, y in points if isinstance(y, (int, float))]
            if points:
                ax.plot([x for x, _ in points], [y for _, y in points], marker="o", markersize=3,
                        label=model)
    durations = [(x, r.get("pipeline_s")) for x, r in zip(xs, runs)]
    durations = [(x, y / 60) for x, y in durations if isinstance(y, (int, float))]
    if durations:
        ax_time.plot([x for x, _ in durations], [y for _, y in durations], marker="o",
                     color="#555555", label="pipeline")
    for ax, name, unit in ((ax_metric, "test metric", ""), (ax_speed, "training samples/s", ""),
                           (ax_time, "pipeline duration", "minutes")):
        ax.axvline(xs[-1], color="#c62828", linestyle=":", linewidth=0.8)
        ax.set(title=name, xlabel="run (oldest -> this run)", ylabel=unit)
        ax.set_xticks(xs)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def _data_mb(records: Path) -> float | None:
    if not records.exists():
        return None
    total = 0
    for line in records.read_text().splitlines():
        try:
            total += int(json.loads(line).get("size", 0))
        except (ValueError, AttributeError):
            continue
    return total / 1024 / 1024
