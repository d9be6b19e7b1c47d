"""The "Run report" button on the render_report task: opens the run's report.html.

Airflow 3 computes an operator extra link when the task finishes (on the worker) and keeps
it as an XCom, which the UI shows in the task's details. The address is the report's page
in the MLflow UI when the tracking store is a server, else the file:// address of
report/report.html in the run folder (both written by the report to report/links.json).
"""
from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperatorLink


class ReportLink(BaseOperatorLink):
    name = "Run report"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        from training_lib.runs.context import run_dir_for
        from training_lib.reports.build import report_link

        return report_link(run_dir_for(ti_key.dag_id, ti_key.run_id)) or ""
