"""report.html in a real browser: headless Chromium lays the page out, and its screenshot
shows every figure, at its size, pixel for pixel the PNG the report drew."""
from __future__ import annotations

import html
import json
import re
import subprocess

import numpy as np
from PIL import Image

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--no-first-run", "--hide-scrollbars", "--virtual-time-budget=5000"]


def _chromium(binary: str, profile, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([binary, *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120, check=True)


def test_screenshot_shows_every_figure_of_the_report(recorded_runs, chromium, tmp_path):
    from training_lib.reports.build import build_report

    _, ctx, _ = recorded_runs
    paths = build_report(ctx, log_to_mlflow=False)
    page = paths["report_html"]
    assert page.read_text().count("data:image/png;base64,") == 4
    assert "src='http" not in page.read_text() and "href='http" not in page.read_text()

    dom = _chromium(chromium, tmp_path / "p1", "--window-size=1280,1000", "--dump-dom",
                    page.as_uri()).stdout
    figures = json.loads(html.unescape(re.search(r'data-figures="([^"]*)"', dom).group(1)))
    assert [f["id"] for f in figures] == ["fig-training_progress", "fig-anomaly_detection_heatmap",
                                          "fig-system_resources", "fig-run_trends"]
    for text in ("Anomalies", "non-finite loss at step 71", "Faults", "TLIB_INJECT nan_at_step=70",
                 "Trends across runs", "this run: run-2", "Registry decisions"):
        assert text in html.unescape(dom), text

    height = int(max(f["y"] + f["height"] for f in figures)) + 40
    shot = tmp_path / "shot.png"
    _chromium(chromium, tmp_path / "p2", f"--window-size=1280,{height}",
              f"--screenshot={shot}", page.as_uri())
    screen = np.asarray(Image.open(shot).convert("RGB")).astype(float)
    assert screen.shape[:2] == (height, 1280)
    for f in figures:
        name = f["id"].removeprefix("fig-")
        original = np.asarray(Image.open(paths[name]).convert("RGB")).astype(float)
        h, w = original.shape[:2]
        assert (f["naturalWidth"], f["naturalHeight"]) == (w, h), name  # the data URI decoded
        assert (f["width"], f["height"]) == (w + 2, h + 2), name  # shown at its size (+ border)
        x, y = int(f["x"]) + 1, int(f["y"]) + 1
        crop = screen[y:y + h, x:x + w]
        assert crop.shape == original.shape, name
        assert crop.std() > 15, name  # not blank
        assert np.abs(crop - original).mean() < 3, name  # the figure itself, on screen
