"""`WaitForResourcesSensor`: hold a model's training until its planned device is free.

Runs in reschedule mode, so a waiting model does not occupy a worker slot; each poke
re-probes the machine (psutil/NVML) against the run's resource plan.
"""
from __future__ import annotations

from typing import Any

from airflow.sdk import BaseSensorOperator


class WaitForResourcesSensor(BaseSensorOperator):
    template_fields = ("preset_name", "model")

    def __init__(self, *, preset_name: str, model: str, **kwargs: Any) -> None:
        kwargs.setdefault("mode", "reschedule")
        super().__init__(**kwargs)
        self.preset_name = preset_name
        self.model = model
        self.last_reason = ""

    def execute(self, context: Any) -> Any:
        from airflow.sdk.exceptions import AirflowSensorTimeout

        try:
            return super().execute(context)
        except AirflowSensorTimeout as e:
            raise AirflowSensorTimeout(
                f"{self.model}: its planned resources did not become free within "
                f"{self.timeout:.0f}s; last check: {self.last_reason or 'none'}. Free the "
                "device, lower the model's batch_size, or raise resource_wait_timeout_seconds "
                f"({e})") from e

    def poke(self, context: Any) -> bool:
        from tlib_airflow.tasks import run_context
        from training_lib.pipeline import stages

        ready, reason = stages.check_resources(run_context(self.preset_name, context), self.model)
        self.last_reason = reason
        self.log.info("%s", reason)
        return ready
