"""wait_for_resources: each poke re-probes the real machine against the run's plan; the
sensor waits in reschedule mode and its timeout names the model and the last check."""
from __future__ import annotations

import psutil
import pytest

from training_lib.pipeline import stages
from training_lib.runs.context import start_run
from training_lib.resources.plan import ModelPlan, ResourcePlan


def _ctx_with_plan(memory_mb: int):
    ctx = start_run("wait_test", f"run-{memory_mb}", "quick_start", {})
    plan = ModelPlan("logic_model", "cpu", (), None, 2, 32, memory_mb, "tlib_cpu", False, False)
    ResourcePlan("here", {"tlib_cpu": 2}, {"logic_model": plan}, {}).save(
        ctx.run_dir / "plan.json")
    return ctx


def test_waits_while_the_machine_lacks_the_planned_memory_and_goes_when_it_has_it():
    available = psutil.virtual_memory().available // 2**20
    ready, why = stages.check_resources(_ctx_with_plan(available * 4), "logic_model")
    assert not ready and f"the plan needs {available * 4} MB" in why
    ready, why = stages.check_resources(_ctx_with_plan(64), "logic_model")
    assert ready and "cpu has the planned resources" in why


def test_sensor_reschedules_and_its_timeout_says_what_it_waited_for(monkeypatch):
    from airflow.sdk.exceptions import AirflowSensorTimeout
    from airflow.sdk.bases.sensor import BaseSensorOperator

    from tlib_airflow.sensors import WaitForResourcesSensor

    sensor = WaitForResourcesSensor(task_id="wait", preset_name="quick_start",
                                    model="logic_model", timeout=30)
    assert sensor.mode == "reschedule"  # no worker slot held while waiting

    def times_out(self, context):
        self.last_reason = "1200 MB of memory available, the plan needs 4000 MB"
        raise AirflowSensorTimeout("Sensor has timed out")

    monkeypatch.setattr(BaseSensorOperator, "execute", times_out)
    with pytest.raises(AirflowSensorTimeout) as info:
        sensor.execute({})
    message = str(info.value)
    assert "logic_model" in message and "within 30s" in message
    assert "the plan needs 4000 MB" in message and "resource_wait_timeout_seconds" in message
