"""The results table shows test, trivial baseline and classical reference with the lift
over each; a version below its reference is named in red; the likely mislabeled files
are listed; the JSON report holds the same numbers and validates."""
from __future__ import annotations

import html
import json
import re

from training_lib.reports.build import build_report
from training_lib.runs.context import start_run

from tests.fixtures.label_issues import ISSUES


def _run(tmp_path):
    ctx = start_run("reference_report", "rr-1", "quick_start", {"data_folder": str(tmp_path)})
    ctx.write_json(ctx.folder.evaluation, {
        "vision_service": {"status": "trained", "metric": "accuracy", "test": 0.95,
                           "baseline": 0.1, "lift": 0.85, "reference": 0.90,
                           "reference_model": "16x16 grey pixels, logistic regression",
                           "reference_lift": 0.05, "reference_seconds": 0.4, "label_issues": 2},
        "logic_model": {"status": "trained", "metric": "accuracy", "test": 0.70,
                        "baseline": 0.5, "lift": 0.2, "reference": 0.80,
                        "reference_model": "token 1-3-gram counts, random forest",
                        "reference_lift": -0.1, "reference_seconds": 1.2}})
    ctx.write_json(ctx.folder.registry, {
        "vision_service": {"version": "3", "tag": "release", "aliases": ["champion"],
                           "reason": "no champion yet"},
        "logic_model": {"version": "2", "tag": "below_reference", "aliases": [],
                        "reason": "test accuracy 0.7000 trails the classical reference 0.8000 "
                                  "by 0.1000 > max_gap_to_reference 0.01"}})
    ctx.round("vision_service").path.mkdir(parents=True)
    ctx.write_json(ctx.round("vision_service").label_issues, ISSUES)
    return ctx


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub("<[^>]+>", " ", fragment)).split())


def test_results_show_the_reference_and_the_report_says_below_reference_in_red(tmp_path):
    paths = build_report(_run(tmp_path), log_to_mlflow=False)
    page = paths["report_html"].read_text()
    results = page[page.index("<h2>Results</h2>"):page.index("<h2>Training progress</h2>")]
    rows = {_text(r).split()[0]: _text(r) for r in re.findall(r"<tr>(.*?)</tr>", results)}
    assert rows["logic_model"].startswith(
        "logic_model trained accuracy 0.7000 0.5000 0.8000 token 1-3-gram counts, random "
        "forest, 1.2 s 0.2000 -0.1000 2 below_reference")
    assert rows["vision_service"].startswith("vision_service trained accuracy 0.9500 0.1000 "
                                             "0.9000")
    assert "<span class='bad'>below_reference</span>" in results
    assert "<span class='bad'>-0.1000</span>" in results
    red = re.search(r"<p class='bad'>(.*?)</p>", results).group(1)
    assert "logic_model" in red and "0.7000" in red and "0.8000" in red
    mislabeled = page[page.index("<h2>Likely mislabeled</h2>"):]
    assert "2 of 400 training files flagged" in _text(mislabeled)
    assert "images/3/a.png 3 8 0.970" in _text(mislabeled)
    report = json.loads(paths["training_report"].read_text())
    assert report["label_issues"]["vision_service"]["issues"][1]["files"] == ["images/1/b.png"]
    assert report["evaluation"]["logic_model"]["reference"] == 0.80
