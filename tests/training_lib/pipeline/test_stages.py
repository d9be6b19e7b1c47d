"""The stages as DAG tasks call them: a model without routed data is skipped, not failed."""
from __future__ import annotations

from types import SimpleNamespace

import pytest


def test_model_without_routed_data_is_skipped_with_its_reason(tmp_path, monkeypatch):
    from airflow.sdk.exceptions import AirflowSkipException

    from tlib_airflow import tasks
    from training_lib.runs.context import start_run

    ctx = start_run("skip_test", "run-1", "quick_start", {"data_folder": str(tmp_path)})
    ctx.write_json(ctx.folder.routing, {"models": ["vision_service"],
                                        "left_out": {"math_model": "0 usable samples of "
                                                     "records:arithmetic (needs 20)"}})
    context = {"dag": SimpleNamespace(dag_id="skip_test"), "run_id": "run-1", "params": {},
               "ti": SimpleNamespace(try_number=1)}
    with pytest.raises(AirflowSkipException, match="math_model: skipped, 0 usable samples"):
        tasks.train.function(preset_name="quick_start", model="math_model", **context)


def test_a_folder_of_junk_fails_validation_for_good_in_one_line(tmp_path):
    import os

    from training_lib.errors import NotRetryable
    from training_lib.pipeline import stages
    from training_lib.runs.context import start_run

    junk = tmp_path / "junk"
    junk.mkdir()
    for i in range(20):
        (junk / f"blob_{i:02d}.bin").write_bytes(os.urandom(2048 + i))
    ctx = start_run("junk_test", "run-1", "quick_start", {"data_folder": str(junk)})
    stages.scan_data(ctx)
    with pytest.raises(NotRetryable) as raised:
        stages.validate_data(ctx)
    message = str(raised.value)
    assert "\n" not in message and f"{str(junk)!r} (20 files: 20 " in message
    assert message.startswith(("critical data check failed", "no data for any model"))
    assert ctx.read_json(ctx.folder.validation)["success"] is False  # evidence in the folder
