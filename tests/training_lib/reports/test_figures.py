"""The report's figures, drawn from two recorded runs (see conftest.py): the expected axes
and series are there (matplotlib objects), and the PNGs are real pictures (image statistics)."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from training_lib.reports import heatmap, metrics, plots, trends


@pytest.fixture(scope="module")
def recorded(recorded_runs):
    _, ctx, results = recorded_runs
    streams = metrics.run_streams(ctx.run_dir)
    return (ctx, results, streams, metrics.run_system(ctx.run_dir),
            metrics.run_anomalies(ctx.run_dir))


def test_training_progress_has_a_row_per_model_with_loss_metric_and_the_anomaly(recorded):
    ctx, _, streams, _, anomalies = recorded
    fig = plots.draw_training_progress(streams, anomalies, "t")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["toy_a: loss", "toy_a: accuracy", "toy_b: loss", "toy_b: accuracy"]
    for ax in fig.axes[::2]:
        labels = [line.get_label() for line in ax.lines]
        assert "train loss" in labels and "val loss" in labels
        train = next(line for line in ax.lines if line.get_label() == "train loss")
        assert len(train.get_xdata()) >= 20 and np.isfinite(train.get_ydata()).all()
    assert {line.get_label() for line in fig.axes[1].lines} == {"train accuracy", "val accuracy"}
    marks = [c.get_label() for c in fig.axes[2].collections]
    assert marks == ["anomaly (critical): nan"]  # toy_b's injected NaN, where it was detected
    assert not fig.axes[0].collections
    rollback_lines = [line for line in fig.axes[2].lines if line.get_linestyle() == "--"]
    assert rollback_lines and rollback_lines[0].get_xdata()[0] == anomalies[0]["step"]


def test_the_abandoned_branch_of_a_rollback_is_not_drawn(recorded):
    _, _, streams, _, anomalies = recorded
    rows, events = streams["toy_b"][1]
    rollback = next(e for e in events if e["event"] == "rollback")
    epochs = [r for r in rows if "epoch_loss" in r]
    # the epoch cut short by the rollback (ended at from_step) was replaced by the re-run one
    assert rollback["from_step"] not in [r["step"] for r in epochs]
    assert all(np.isfinite(r["loss"]) for r in rows if "loss" in r)


def test_system_resources_panels_and_a_line_per_model(recorded):
    ctx, _, _, system, _ = recorded
    fig = plots.draw_system_resources(system, "t", 0.95)
    assert [ax.get_title() for ax in fig.axes[:5]] == ["CPU", "Process memory (RSS)",
                                                       "Host memory", "Disk I/O", "GPU"]
    cpu = {line.get_label() for line in fig.axes[0].lines}
    assert cpu == {"toy_a", "toy_b", "host (% of all cores)"}
    rss = fig.axes[1].lines
    assert all(min(line.get_ydata()) > 50 for line in rss)  # a Python + TF process, in MB
    assert "no GPU samples" in fig.axes[4].texts[0].get_text()  # this machine has no GPU


def test_anomaly_grid_puts_the_event_in_toy_b_row_while_it_trained(recorded):
    _, _, streams, _, anomalies = recorded
    grid = heatmap.anomaly_grid(metrics.training_spans(streams), anomalies)
    assert grid["rows"] == ["toy_a", "toy_b"]
    counts = np.array(grid["counts"])
    assert counts[0].max() == 0 and counts[1].max() == 1  # one event, in toy_b's row
    col = int(np.argmax(counts[1]))
    assert grid["kinds"][1][col] == "nan"
    assert (counts[0] == -1).any() and (counts[1] == -1).any()  # they trained one after the other
    fig = heatmap.draw_anomaly_heatmap(grid, "t")
    assert fig.axes[0].get_title() == "t: 1 anomaly detected"


def test_pngs_are_real_pictures_of_the_expected_size(recorded_runs, tmp_path):
    _, ctx, _ = recorded_runs
    from training_lib.reports.build import build_report

    paths = build_report(ctx, log_to_mlflow=False)
    expected = {"training_progress": (1200, 640), "system_resources": (1200, 1400),
                "anomaly_detection_heatmap": (1200, 230), "run_trends": (1200, 360)}
    for name, size in expected.items():
        image = Image.open(paths[name])
        assert image.size == size, name
        pixels = np.asarray(image.convert("RGB")).astype(float)
        assert pixels.std() > 15, name  # not a blank page
        assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50, name  # lines, text, colors
        assert (pixels < 100).mean() > 0.003, name  # dark ink: axes, labels, series


def test_trends_plot_and_table_cover_both_runs(recorded_runs):
    first, ctx, results = recorded_runs
    runs = trends.history(ctx.run_dir)
    assert [r["run_id"] for r in runs] == ["run-1", "run-2"]
    assert runs[-1]["models"]["toy_a"]["test"] == results["toy_a"]["test_metric"]
    fig = trends.draw_trends(runs, "t")
    speed = fig.axes[1]
    assert {line.get_label() for line in speed.lines if not line.get_label().startswith("_")} == {
        "toy_a", "toy_b"}
    line = next(line for line in speed.lines if line.get_label() == "toy_a")
    assert list(line.get_ydata()) == [r["models"]["toy_a"]["samples_per_second"] for r in runs]


def test_a_killed_process_leaves_a_gap_in_its_system_lines_not_a_ramp():
    """Samples every 2 s, then 60 s without any (killed, waiting for the retry), then the
    retry's samples: the plotted line holds a NaN between the two runs of samples."""
    before = [{"time": 1000.0 + 2 * i, "cpu_percent": 90.0, "rss_mb": 500.0 + i,
               "cpu_host_percent": 50.0, "memory_fraction": 0.3, "try": 1} for i in range(10)]
    after = [{"time": 1078.0 + 2 * i, "cpu_percent": 80.0, "rss_mb": 700.0 + i,
              "cpu_host_percent": 45.0, "memory_fraction": 0.35, "try": 2} for i in range(10)]
    fig = plots.draw_system_resources({"m": {1: before + after}}, "t")
    cpu = next(line for line in fig.axes[0].lines if line.get_label() == "m")
    xs, ys = np.asarray(cpu.get_xdata(), float), np.asarray(cpu.get_ydata(), float)
    gap = np.flatnonzero(np.isnan(ys))
    assert len(gap) == 1 and len(ys) == 21
    assert xs[gap[0] - 1] * 60 == pytest.approx(18) and xs[gap[0] + 1] * 60 == pytest.approx(78)
    assert list(ys[:gap[0]]) == [90.0] * 10 and list(ys[gap[0] + 1:]) == [80.0] * 10
    rss = next(line for line in fig.axes[1].lines if line.get_label() == "m")
    assert np.isnan(np.asarray(rss.get_ydata(), float)).sum() == 1
