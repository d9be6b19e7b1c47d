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
