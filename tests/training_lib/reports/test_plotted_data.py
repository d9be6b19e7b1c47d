"""The figures and the report JSON show the numbers the run recorded, not numbers of the
right shape: every plotted series is read back from the Matplotlib objects (Line2D data,
scatter offsets, the heatmap's image array) and compared with what metrics.jsonl,
system.jsonl, anomalies.jsonl and result.json hold, read here with plain `json`.

The expected values are computed in this file, independently of training_lib.reports:
a plot that draws a formula, random numbers or another model's data fails here.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from training_lib.reports import heatmap, metrics, plots, trends

MODELS = ("toy_a", "toy_b")


# ---- the run store, read with json only ------------------------------------------------------
def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def recorded_rows(path: Path) -> tuple[list[dict], list[dict]]:
    """(step rows, epoch rows) of a metrics.jsonl as the model went: a rollback abandons the
    rows logged after the checkpoint it went back to; a re-logged step replaces the old row."""
    steps: dict[int, dict] = {}
    epochs: dict[int, dict] = {}
    for item in jsonl(path):
        if item.get("event") == "rollback":
            steps = {s: r for s, r in steps.items() if s <= item["to_step"]}
            epochs = {s: r for s, r in epochs.items() if s <= item["to_step"]}
        elif "event" not in item:
            (epochs if "epoch_loss" in item else steps)[item["step"]] = item
    return [steps[s] for s in sorted(steps)], [epochs[s] for s in sorted(epochs)]


def recorded_events(path: Path) -> list[dict]:
    """anomalies.jsonl with the later lines of an event (its outcome) merged in."""
    merged: dict[str, dict] = {}
    if path.exists():
        for record in jsonl(path):
            merged.setdefault(record["id"], {}).update(record)
    return list(merged.values())


def xy(line) -> tuple[list[float], list[float]]:
    """A line's points without NaN separators (a gap drawn where sampling paused)."""
    pairs = [(float(x), float(y)) for x, y in zip(line.get_xdata(), line.get_ydata())
             if not math.isnan(float(y))]
    return [x for x, _ in pairs], [y for _, y in pairs]


def line(ax, label: str):
    [found] = [ln for ln in ax.lines if ln.get_label() == label]
    return found


@pytest.fixture(scope="module")
def run(recorded_runs):
    _, ctx, _ = recorded_runs
    return ctx


# ---- training progress -----------------------------------------------------------------------
def test_training_progress_plots_the_recorded_losses_and_metrics(run):
    streams = metrics.run_streams(run.run_dir)
    fig = plots.draw_training_progress(streams, metrics.run_anomalies(run.run_dir), "t")
    for row, model in enumerate(MODELS):
        ax_loss, ax_metric = fig.axes[2 * row], fig.axes[2 * row + 1]
        steps, epochs = recorded_rows(run.round(model).metrics)
        assert len(steps) >= 20 and len(epochs) == 3
        assert xy(line(ax_loss, "train loss")) == ([r["step"] for r in steps],
                                                   [r["loss"] for r in steps])
        assert xy(line(ax_loss, "val loss")) == ([r["step"] for r in epochs],
                                                 [r["epoch_val_loss"] for r in epochs])
        assert xy(line(ax_metric, "train accuracy")) == ([r["step"] for r in epochs],
                                                         [r["epoch_accuracy"] for r in epochs])
        assert xy(line(ax_metric, "val accuracy")) == ([r["step"] for r in epochs],
                                                       [r["epoch_val_accuracy"] for r in epochs])


def test_anomaly_marks_and_rollback_lines_sit_where_the_event_log_puts_them(run):
    streams = metrics.run_streams(run.run_dir)
    fig = plots.draw_training_progress(streams, metrics.run_anomalies(run.run_dir), "t")
    for row, model in enumerate(MODELS):
        ax_loss = fig.axes[2 * row]
        events = recorded_events(run.round(model).anomalies)
        steps, _ = recorded_rows(run.round(model).metrics)
        marked = np.concatenate([c.get_offsets() for c in ax_loss.collections]) \
            if ax_loss.collections else np.empty((0, 2))
        # a mark per event, at its step, on the recorded loss curve (interpolated)
        expected = [(e["step"], float(np.interp(e["step"], [r["step"] for r in steps],
                                                [r["loss"] for r in steps]))) for e in events]
        assert len(marked) == len(expected)
        np.testing.assert_allclose(sorted(map(tuple, marked.tolist())), sorted(expected),
                                   rtol=1e-6)
        rollbacks = [r for r in jsonl(run.round(model).metrics) if r.get("event") == "rollback"]
        dashed = [ln.get_xdata()[0] for ln in ax_loss.lines if ln.get_linestyle() == "--"]
        assert dashed == [r["from_step"] for r in rollbacks]
    assert recorded_events(run.round("toy_b").anomalies)  # the injected NaN is really there


# ---- system resources ------------------------------------------------------------------------
def test_system_resources_plots_the_recorded_samples(run):
    fig = plots.draw_system_resources(metrics.run_system(run.run_dir), "t", 0.95)
    ax_cpu, ax_rss, ax_mem, ax_io, _ = fig.axes[:5]
    samples = {m: jsonl(run.round(m).system) for m in MODELS}
    t0 = min(s["time"] for rows in samples.values() for s in rows)

    def minutes(rows: list[dict]) -> list[float]:
        return [(s["time"] - t0) / 60 for s in rows]

    for model, rows in samples.items():
        assert len(rows) >= 3
        assert xy(line(ax_cpu, model)) == (minutes(rows), [s["cpu_percent"] for s in rows])
        assert xy(line(ax_rss, model)) == (minutes(rows), [s["rss_mb"] for s in rows])
        io = [s for s in rows if "write_mb_s" in s]
        assert xy(line(ax_io, f"{model} (process read+write)")) == (
            minutes(io), [s["write_mb_s"] + s["read_mb_s"] for s in io])
    host = sorted((s for rows in samples.values() for s in rows), key=lambda s: s["time"])
    assert xy(line(ax_cpu, "host (% of all cores)")) == (
        minutes(host), [s["cpu_host_percent"] for s in host])
    assert xy(line(ax_mem, "host memory used (% of cap)")) == (
        minutes(host), [100 * s["memory_fraction"] for s in host])
    host_io = [s for s in host if "host_write_mb_s" in s]
    assert xy(line(ax_io, "host disk write")) == (minutes(host_io),
                                                  [s["host_write_mb_s"] for s in host_io])
    assert xy(line(ax_io, "host disk read")) == (minutes(host_io),
                                                 [s["host_read_mb_s"] for s in host_io])


# ---- anomaly heatmap ---------------------------------------------------------------------------
def test_heatmap_cells_count_the_logged_events_while_each_model_trained(run):
    streams = metrics.run_streams(run.run_dir)
    anomalies = metrics.run_anomalies(run.run_dir)
    grid = heatmap.anomaly_grid(metrics.training_spans(streams), anomalies)
    fig = heatmap.draw_anomaly_heatmap(grid, "t")
    [image] = fig.axes[0].get_images()
    shown = np.ma.filled(image.get_array().astype(float), -1.0)  # masked: not training

    windows = 24
    spans = {}
    for m in MODELS:
        marks = {r["event"]: r["time"] for r in jsonl(run.round(m).metrics) if "event" in r}
        spans[m] = (marks["start"], marks["fit_done"])
    events = {m: recorded_events(run.round(m).anomalies) for m in MODELS}
    times = [t for span in spans.values() for t in span]
    times += [e["time"] for rows in events.values() for e in rows]
    t0 = min(times)
    width = (max(times) - t0) / windows
    expected = np.full((len(MODELS), windows), -1.0)
    for row, m in enumerate(MODELS):
        start, end = spans[m]
        for w in range(windows):
            if start < t0 + (w + 1) * width and end >= t0 + w * width:
                expected[row, w] = 0
        for e in events[m]:
            w = min(windows - 1, int((e["time"] - t0) / width))
            expected[row, w] = max(expected[row, w], 0) + 1
    assert shown.tolist() == expected.tolist()
    assert shown[shown > 0].sum() == sum(len(rows) for rows in events.values()) == 1


# ---- run trends --------------------------------------------------------------------------------
def test_trends_plot_each_runs_recorded_test_metric_speed_and_duration(recorded_runs):
    first, ctx, _ = recorded_runs
    fig = trends.draw_trends(trends.history(ctx.run_dir), "t")
    ax_metric, ax_speed, ax_time = fig.axes
    runs = [first, ctx]
    results = [{m: json.loads(r.round(m).result.read_text()) for m in MODELS} for r in runs]
    for model in MODELS:
        assert xy(line(ax_metric, model)) == ([0, 1], [res[model]["test_metric"]
                                                       for res in results])
        assert xy(line(ax_speed, model)) == ([0, 1], [res[model]["samples_per_second"]
                                                      for res in results])
    durations = []
    for r, res in zip(runs, results):
        started = r.folder.config.stat().st_mtime
        ends = [x["finished"] for x in res.values()] + [r.folder.evaluation.stat().st_mtime]
        if r.folder.registry.exists():
            ends.append(r.folder.registry.stat().st_mtime)
        durations.append((max(ends) - started) / 60)
    xs, ys = xy(line(ax_time, "pipeline"))
    assert xs == [0, 1] and ys == pytest.approx(durations, rel=1e-9)


# ---- the report's numbers -----------------------------------------------------------------------
def test_report_json_numbers_are_the_run_stores(run):
    from training_lib.reports.build import build_report

    report = json.loads(build_report(run, log_to_mlflow=False)["training_report"].read_text())
    assert report["evaluation"] == json.loads(run.folder.evaluation.read_text())
    for model in MODELS:
        steps, epochs = recorded_rows(run.round(model).metrics)
        training = report["training"][model]["round_1"]
        assert training["steps_logged"] == len(steps)
        assert (training["first_loss"], training["last_loss"]) == (steps[0]["loss"],
                                                                   steps[-1]["loss"])
        assert [(e["step"], e["loss"], e["val_loss"], e["accuracy"]) for e in training["epochs"]] \
            == [(r["step"], r["epoch_loss"], r["epoch_val_loss"], r["epoch_accuracy"])
                for r in epochs]
        done = [r for r in jsonl(run.round(model).metrics) if r.get("event") == "fit_done"]
        assert training["global_step"] == done[-1]["global_step"]

        samples = jsonl(run.round(model).system)
        system = report["system"][model]["round_1"]
        cpu = [s["cpu_percent"] for s in samples]
        assert system["samples"] == len(samples)
        assert system["cpu_percent_mean"] == pytest.approx(sum(cpu) / len(cpu), rel=1e-12)
        assert system["cpu_percent_max"] == max(cpu)
        assert system["rss_mb_max"] == max(s["rss_mb"] for s in samples)
        assert system["seconds"] == pytest.approx(samples[-1]["time"] - samples[0]["time"])

        result = json.loads(run.round(model).result.read_text())
        trend = report["trends"]["runs"][-1]["models"][model]
        assert (trend["test"], trend["samples_per_second"]) == (result["test_metric"],
                                                                result["samples_per_second"])
    logged = [e for m in MODELS for e in recorded_events(run.round(m).anomalies)]
    assert report["anomalies"]["events"] == logged
