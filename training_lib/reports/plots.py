"""Figures of what a run recorded (matplotlib, Agg backend, imported only when drawing).

Each `draw_*` returns a Figure (tests inspect its axes and lines); `save` writes it.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from training_lib.reports.metrics import Streams, metric_keys

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SEVERITY_COLORS = {"critical": "#c62828", "warning": "#ef6c00", "info": "#1565c0"}


def pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig: "Figure", path: Path, dpi: int = 100) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    pyplot().close(fig)
    return path


def draw_training_progress(streams: Streams, anomalies: list[dict[str, Any]],
                           title: str) -> "Figure | None":
    """One row per model: loss per step (left), its metric per epoch (right); rounds side by
    side on one step axis; anomalies marked where they were detected, rollbacks as lines."""
    if not streams:
        return None
    plt = pyplot()
    models = sorted(streams)
    fig, axes = plt.subplots(len(models), 2, figsize=(12, 2.8 * len(models) + 0.8), squeeze=False)
    for (ax_loss, ax_metric), model in zip(axes, models):
        offset = 0
        rounds = streams[model]
        metric_name = None
        for round_index, (rows, events) in sorted(rounds.items()):
            suffix = "" if len(rounds) == 1 else f" r{round_index}"
            steps = [r for r in rows if "loss" in r]
            if steps:
                ax_loss.plot([offset + r["step"] for r in steps], [r["loss"] for r in steps],
                             label=f"train loss{suffix}", linewidth=1.1, color="#1f77b4")
            epochs = [r for r in rows if "epoch_loss" in r or "epoch_val_loss" in r]
            val = [r for r in epochs if "epoch_val_loss" in r]
            if val:
                ax_loss.plot([offset + r["step"] for r in val], [r["epoch_val_loss"] for r in val],
                             marker="o", markersize=3, label=f"val loss{suffix}", color="#ff7f0e")
            train_key, val_key = metric_keys(epochs)
            if train_key:
                metric_name = train_key.removeprefix("epoch_")
                for key, label, color in ((train_key, "train", "#2ca02c"),
                                          (val_key, "val", "#d62728")):
                    points = [r for r in epochs if key and key in r]
                    if points:
                        ax_metric.plot([offset + r["step"] for r in points],
                                       [r[key] for r in points],
                                       marker="o", markersize=3, color=color,
                                       label=f"{label} {metric_name}{suffix}")
            for e in events:
                if e.get("event") == "rollback":
                    ax_loss.axvline(offset + e["from_step"], color="#c62828", linestyle="--",
                                    linewidth=0.8)
            _mark_anomalies(ax_loss, [a for a in anomalies if a["model"] == model
                                      and a.get("round", 1) == round_index], steps, offset)
            if len(rounds) > 1 and offset:
                for ax in (ax_loss, ax_metric):
                    ax.axvline(offset, color="grey", linestyle=":", linewidth=0.8)
            offset += max((r["step"] for r in rows), default=0)
        ax_loss.set(title=f"{model}: loss", xlabel="step", ylabel="loss")
        ax_metric.set(title=f"{model}: {metric_name or 'no metric besides loss'}", xlabel="step",
                      ylabel=metric_name or "")
        for ax in (ax_loss, ax_metric):
            ax.grid(alpha=0.3)
            if ax.lines:
                ax.legend(fontsize=7, loc="best")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def _mark_anomalies(ax: Any, events: list[dict[str, Any]], steps: list[dict[str, Any]],
                    offset: int) -> None:
    if not events:
        return
    import numpy as np

    xs = [r["step"] for r in steps]
    ys = [r["loss"] for r in steps]
    finite = [(x, y) for x, y in zip(xs, ys) if np.isfinite(y)]
    for severity in ("info", "warning", "critical"):
        chosen = [e for e in events if e.get("severity") == severity]
        if not chosen:
            continue
        at = [e["step"] for e in chosen]
        height = (np.interp(at, [x for x, _ in finite], [y for _, y in finite])
                  if finite else np.zeros(len(at)))
        ax.scatter([offset + s for s in at], height, marker="v", s=60, zorder=5,
                   color=SEVERITY_COLORS[severity],
                   label=f"anomaly ({severity}): " + ", ".join(sorted({e['kind'] for e in chosen})))


def draw_system_resources(system: dict[str, dict[int, list[dict[str, Any]]]], title: str,
                          memory_threshold: float | None = None) -> "Figure | None":
    """CPU, memory, disk I/O and GPUs over wall time, one line per model's process (host-wide
    values from every process merged into one line)."""
    series = {(m, r): s for m, rounds in system.items() for r, s in rounds.items() if s}
    if not series:
        return None
    plt = pyplot()
    t0 = min(s["time"] for samples in series.values() for s in samples)
    fig, axes = plt.subplots(5, 1, figsize=(12, 14), sharex=True)
    ax_cpu, ax_rss, ax_mem, ax_io, ax_gpu = axes
    multi_round = any(r > 1 for _, r in series)
    host = sorted((s for samples in series.values() for s in samples), key=lambda s: s["time"])

    def minutes(samples: list[dict[str, Any]]) -> list[float]:
        return [(s["time"] - t0) / 60 for s in samples]

    for (model, round_index), samples in sorted(series.items()):
        label = f"{model} r{round_index}" if multi_round else model
        # gapped: a killed process and its retry are two lines, not a ramp across the gap
        ax_cpu.plot(*_gapped(minutes(samples), [s.get("cpu_percent", 0) for s in samples]),
                    label=label)
        ax_rss.plot(*_gapped(minutes(samples), [s.get("rss_mb", 0) for s in samples]),
                    label=label)
        io = [s for s in samples if "write_mb_s" in s]
        if io:
            ax_io.plot(*_gapped(minutes(io), [s["write_mb_s"] + s.get("read_mb_s", 0)
                                              for s in io]),
                       label=f"{label} (process read+write)")
    ax_cpu.plot(*_gapped(minutes(host), [s.get("cpu_host_percent", 0) for s in host]),
                color="grey", linestyle="--", linewidth=0.8, label="host (% of all cores)")
    ax_mem.plot(*_gapped(minutes(host), [100 * s.get("memory_fraction", 0) for s in host]),
                color="#6a1b9a", label="host memory used (% of cap)")
    if memory_threshold:
        ax_mem.axhline(100 * memory_threshold, color="#c62828", linestyle="--", linewidth=0.8,
                       label=f"saturation threshold {memory_threshold:.0%}")
    host_io = [s for s in host if "host_write_mb_s" in s]
    if host_io:
        ax_io.plot(*_gapped(minutes(host_io), [s["host_read_mb_s"] for s in host_io]),
                   color="grey", linestyle=":", label="host disk read")
        ax_io.plot(*_gapped(minutes(host_io), [s["host_write_mb_s"] for s in host_io]),
                   color="grey", linestyle="--", label="host disk write")
    _draw_gpus(ax_gpu, host, t0)
    ax_cpu.set(title="CPU", ylabel="% (100 = one core)")
    ax_rss.set(title="Process memory (RSS)", ylabel="MB")
    ax_mem.set(title="Host memory", ylabel="% of cap", ylim=(0, 105))
    ax_io.set(title="Disk I/O", ylabel="MB/s")
    ax_gpu.set(xlabel="minutes since the first sample")
    for ax in axes:
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7, loc="upper right")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def _gapped(xs: list[float], ys: list[float]) -> tuple[list[float], list[float]]:
    """Break a line where no process was sampling (gaps over 3x the usual interval), so a
    pause between trainings is not drawn as a straight line across it."""
    steps = sorted(b - a for a, b in zip(xs, xs[1:]) if b > a)
    if not steps:
        return xs, ys
    limit = 3 * steps[len(steps) // 2]
    out_x, out_y = xs[:1], ys[:1]
    for (a, b), y in zip(zip(xs, xs[1:]), ys[1:]):
        if b - a > limit:
            out_x.append((a + b) / 2)
            out_y.append(float("nan"))
        out_x.append(b)
        out_y.append(y)
    return out_x, out_y


def _draw_gpus(ax: Any, samples: list[dict[str, Any]], t0: float) -> None:
    by_gpu: dict[int, list[tuple[float, dict[str, Any]]]] = {}
    for s in samples:
        for g in s.get("gpus") or []:
            by_gpu.setdefault(g["index"], []).append(((s["time"] - t0) / 60, g))
    if not by_gpu:
        ax.set_title("GPU")
        ax.text(0.5, 0.5, "no GPU samples: every model of this run trained on CPU, or NVML "
                "found no driver", ha="center", va="center", transform=ax.transAxes)
        ax.set_yticks([])
        return
    temp_ax = ax.twinx()
    for index, points in sorted(by_gpu.items()):
        xs = [x for x, _ in points]
        ax.plot(*_gapped(xs, [g["util"] for _, g in points]), label=f"GPU {index} utilization %")
        ax.plot(*_gapped(xs, [100 * g["mem_used_mb"] / g["mem_total_mb"] for _, g in points]),
                linestyle="--", label=f"GPU {index} memory %")
        temps = [(x, g["temp_c"]) for x, g in points if g.get("temp_c") is not None]
        if temps:
            temp_ax.plot([x for x, _ in temps], [t for _, t in temps], linestyle=":",
                         color="#b71c1c", label=f"GPU {index} temperature")
    ax.set(title="GPU", ylabel="%", ylim=(0, 105))
    temp_ax.set_ylabel("°C")
    if temp_ax.lines:
        temp_ax.legend(fontsize=7, loc="lower right")
