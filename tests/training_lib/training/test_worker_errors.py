"""Clear errors from the training worker: out of memory names the plan that caused it;
a model without routed data is skipped, not failed."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from training_lib.resources.plan import ModelPlan
from training_lib.training.worker import is_out_of_memory, out_of_memory_message

PLAN = ModelPlan("vision_service", "gpu:0", (0,), 4096, 4, 256, 3000, "tlib_gpu", True, False,
                 note="batch size 512 -> 256 to fit 4096 MB")


@pytest.mark.parametrize("error", [
    MemoryError(),
    RuntimeError("RESOURCE_EXHAUSTED: Out of memory while trying to allocate 2147483648 bytes."),
    RuntimeError("OOM when allocating tensor with shape[512,32,32,64]"),
])
def test_out_of_memory_is_recognised_and_names_the_plan(error):
    assert is_out_of_memory(error)
    message = out_of_memory_message("vision_service", PLAN, error)
    for part in ("vision_service", "gpu:0", "GPU memory cap 4096 MB", "batch size 256",
                 "batch size 512 -> 256", "plan.json"):
        assert part in message


def test_other_errors_are_not_out_of_memory():
    assert not is_out_of_memory(ValueError("shapes (3,) and (4,) not aligned"))


def test_model_without_routed_data_is_skipped_with_its_reason(tmp_path, monkeypatch):
    from airflow.sdk.exceptions import AirflowSkipException

    from tlib_airflow import tasks
    from training_lib.pipeline.run import start_run

    ctx = start_run("skip_test", "run-1", "quick_start", {"data_folder": str(tmp_path)})
    ctx.write_json("routing.json", {"models": ["vision_service"],
                                    "left_out": {"math_model": "0 usable samples of "
                                                 "records:arithmetic (needs 20)"}})
    context = {"dag": SimpleNamespace(dag_id="skip_test"), "run_id": "run-1", "params": {},
               "ti": SimpleNamespace(try_number=1)}
    with pytest.raises(AirflowSkipException, match="math_model: skipped, 0 usable samples"):
        tasks.train.function(preset_name="quick_start", model="math_model", **context)
