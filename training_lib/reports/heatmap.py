"""Anomalies per model and time window: the numbers behind the heatmap, and the figure.

Rows are model/round, columns equal wall-time windows from the first training start to
the last training end. A cell holds the number of anomaly events detected in that
window, or -1 when the model was not training then (drawn grey).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from training_lib.reports.plots import pyplot

if TYPE_CHECKING:
    from matplotlib.figure import Figure

Spans = dict[tuple[str, int], list[tuple[float, float]]]


def anomaly_grid(spans: Spans, anomalies: list[dict[str, Any]], windows: int = 24
                 ) -> dict[str, Any]:
    """{"rows": [label], "t0", "width_s", "counts": [[int]], "kinds": [[str]]}."""
    keys = sorted(set(spans) | {(a["model"], a.get("round", 1)) for a in anomalies})
    times = [t for ranges in spans.values() for span in ranges for t in span]
    times += [a["time"] for a in anomalies if "time" in a]
    if not keys or not times:
        return {"rows": [], "t0": None, "width_s": None, "counts": [], "kinds": []}
    t0, t1 = min(times), max(times)
    width = max((t1 - t0) / windows, 1e-6)
    multi_round = any(r > 1 for _, r in keys)
    counts, kinds = [], []
    for key in keys:
        row, row_kinds = [], []
        for w in range(windows):
            start, end = t0 + w * width, t0 + (w + 1) * width
            busy = any(s < end and e >= start for s, e in spans.get(key, []))
            row.append(0 if busy else -1)
            row_kinds.append([])
        for a in anomalies:
            if (a["model"], a.get("round", 1)) == key and "time" in a:
                w = min(windows - 1, int((a["time"] - t0) / width))
                row[w] = max(row[w], 0) + 1
                row_kinds[w].append(a["kind"])
        counts.append(row)
        kinds.append([",".join(sorted(set(k))) for k in row_kinds])
    labels = [f"{m} r{r}" if multi_round else m for m, r in keys]
    return {"rows": labels, "t0": t0, "width_s": width, "counts": counts, "kinds": kinds}


def draw_anomaly_heatmap(grid: dict[str, Any], title: str) -> "Figure | None":
    if not grid["rows"]:
        return None
    import numpy as np

    plt = pyplot()
    counts = np.array(grid["counts"], dtype=float)
    total = int(counts[counts > 0].sum())
    fig, ax = plt.subplots(figsize=(12, 1.2 + 0.55 * len(grid["rows"])))
    cmap = plt.get_cmap("Reds").with_extremes(bad="#e0e0e0")  # grey: not training then
    shown = np.ma.masked_less(counts, 0)
    image = ax.imshow(shown, aspect="auto", cmap=cmap, vmin=0, vmax=max(1.0, float(counts.max())),
                      interpolation="nearest")
    for (row, col), value in np.ndenumerate(counts):
        if value > 0:
            ax.text(col, row, f"{int(value)}\n{grid['kinds'][row][col]}", ha="center",
                    va="center", fontsize=6, color="black")
    windows = counts.shape[1]
    step = max(1, windows // 12)
    ticks = list(range(0, windows, step))
    span = windows * grid["width_s"]
    in_minutes = span >= 180
    digits = 0 if span >= 30 else 1
    ax.set_xticks(ticks, [f"{t * grid['width_s'] / 60:.1f}" if in_minutes
                          else f"{t * grid['width_s']:.{digits}f}" for t in ticks])
    ax.set_yticks(range(len(grid["rows"])), grid["rows"])
    ax.set_xlabel(f"{'minutes' if in_minutes else 'seconds'} since the first training start "
                  f"(windows of {_duration(grid['width_s'])}; grey: not training)")
    ax.set_title(f"{title}: {total} anomal{'y' if total == 1 else 'ies'} detected")
    fig.colorbar(image, ax=ax, label="anomalies in window", fraction=0.03)
    fig.tight_layout()
    return fig


def _duration(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f} s"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"
