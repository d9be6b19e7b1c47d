"""The report of a run that failed for good leads with "run failed at <task>: <cause>", its
models are "not started", and the fault section lists each retry in one line."""
from __future__ import annotations

import html
import json
import re

from training_lib.reports import summary
from training_lib.reports.build import build_report
from training_lib.runs.context import start_run
from training_lib.runs.failure import record_failure


def test_headline_and_results_of_a_run_that_failed_at_validate_data(tmp_path):
    ctx = start_run("failed_report", "fr-1", "quick_start", {"data_folder": str(tmp_path)})
    record_failure(ctx.run_dir, "validate_data", "critical data check failed on '/d': 0 "
                   "labelled files; fix the data")
    ctx.write_json(ctx.folder.evaluation, {m: {"status": "not started",
                                               "reason": "run failed at validate_data"}
                                           for m in ctx.selected_models})
    paths = build_report(ctx, log_to_mlflow=False)
    page = paths["report_html"].read_text()
    meta = html.unescape(re.sub("<[^>]+>", "", re.search(r"<div class='meta'>(.*?)<br>",
                                                         page, re.S).group(1)))
    assert ("run failed at validate_data: critical data check failed on '/d': 0 labelled "
            "files; fix the data") in meta
    assert "models failed to train" not in page and "did not finish" not in page
    data = json.loads(paths["training_report"].read_text())
    assert data["failure"]["task"] == "validate_data"
    assert data["problems"] == ["run failed at validate_data: critical data check failed on "
                                "'/d': 0 labelled files; fix the data"]
    assert {r["status"] for r in data["evaluation"].values()} == {"not started"}


def test_fault_section_lists_each_retry_and_the_whole_first_line():
    recorded = [{"model": "m", "round": 1, "try": 1, "host": "w1", "device": "cpu",
                 "kind": "killed", "step": 57, "signal": 9,
                 "error": "m: training process killed by signal 9 (SIGKILL)",
                 "output": ["epoch 2 done"]}]
    events = [{"event": "start", "try": 1}, {"event": "start", "try": 2},
              {"event": "resumed", "try": 2, "from_step": 40},
              {"event": "fit_done", "try": 2, "resumed_from_step": 40}]
    found = summary.faults({"m": {1: ([], events)}}, {}, {}, [], recorded)
    assert [(f["kind"], f["detail"]) for f in found] == [
        ("killed", "try 1 on w1 (cpu) at step 57, signal 9: m: training process killed by "
                   "signal 9 (SIGKILL)"),
        ("retry", "m: try 1 killed (signal 9) at step 57 on w1 (cpu); try 2 resumed from "
                  "checkpoint 40, lost 17 steps")]
