"""The run's fault record: appended one line per fault, read back oldest first."""
from __future__ import annotations

import json

from training_lib.runs.context import start_run
from training_lib.runs.faults import read_faults, record_fault


def test_faults_are_appended_with_host_and_run(tmp_path):
    ctx = start_run("faults_test", "f-1", "quick_start", {"data_folder": str(tmp_path)})
    record_fault(ctx, model="a", kind="crashed", error="boom")
    record_fault(ctx, model="a", kind="lost", error=None)
    faults = read_faults(ctx.run_dir)
    assert [f["kind"] for f in faults] == ["crashed", "lost"]
    assert faults[0]["run_id"] == "f-1" and faults[0]["host"]
    assert json.loads(ctx.folder.faults.read_text().splitlines()[0])["error"] == "boom"
