"""The report's addresses end their log line: a log viewer that turns URLs into links must
not take a trailing ")" or "'," into them (issue 16 item 9)."""
from __future__ import annotations

import logging
import re

import pytest

from training_lib.reports import build
from training_lib.runs.context import start_run
from training_lib.runs.failure import record_failure

URL = re.compile(r"(?:https?|file)://\S+|/\S+\.html\S*")


def test_report_addresses_end_their_lines(tmp_path, monkeypatch: pytest.MonkeyPatch,
                                          caplog: pytest.LogCaptureFixture) -> None:
    ctx = start_run("report_log", "rl-1", "quick_start", {"data_folder": str(tmp_path)})
    record_failure(ctx.run_dir, "validate_data", "no data")
    mlflow_page = "http://localhost:5000/#/experiments/1/runs/abc/artifacts/report/report.html"
    monkeypatch.setattr(build, "_log_to_mlflow", lambda ctx, paths: mlflow_page)
    with caplog.at_level(logging.INFO, logger=build.__name__):
        paths = build.build_report(ctx)
    lines = [r.getMessage() for r in caplog.records if "report" in r.getMessage()]
    addresses = [m for line in lines for m in URL.findall(line)]
    assert str(paths["report_html"]) in addresses and mlflow_page in addresses
    for line in lines:
        for address in URL.findall(line):
            assert line.endswith(address), line
            assert not address.endswith((")", "',", "'", ",")), address
    assert build.report_link(ctx.run_dir) == mlflow_page
