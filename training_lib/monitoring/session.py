"""start_monitoring(): what the training worker starts before the fit and closes after.

    monitoring = start_monitoring(round_folder, settings.anomalies, run_id=mlflow_run_id)
    try:
        ResumableFit(model, dataset, plan, store, monitors=[monitoring.monitor]).run()
    finally:
        monitoring.close()

It starts the system sampler (system.jsonl) and builds the anomaly monitor (anomalies.jsonl,
MLflow tags on the model's run) that the engine binds; on close, it stops the sampler and
judges the samples taken since the last log step.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from training_lib.config.anomalies import AnomalyConfig
from training_lib.monitoring import events, system
from training_lib.monitoring.callback import AnomalyMonitor
from training_lib.runs.folder import RoundFolder

log = logging.getLogger(__name__)


@dataclass
class Monitoring:
    monitor: AnomalyMonitor
    sampler: system.SystemSampler

    def close(self) -> dict[str, Any]:
        self.sampler.stop()
        for finding in self.monitor.check_system():
            self.monitor.act(finding)
        return {"anomalies": len(self.monitor.events), "system_samples": self.sampler.samples,
                "nvml_error": self.sampler.nvml_error}


def start_monitoring(folder: RoundFolder, config: AnomalyConfig, *, try_number: int = 1,
                     gpu_indices: tuple[int, ...] = (), run_id: str | None = None,
                     interval: float = 2.0) -> Monitoring:
    """Start sampling the machine for the model and round of `folder`; pass the returned
    `.monitor` to the engine (`ResumableFit(monitors=[...])`)."""
    tagger = None
    if run_id:
        from training_lib.registry import tracking

        def tagger(tags: dict[str, str]) -> None:
            tracking.set_tags(run_id, tags)

    # the sampler reads the monitor's step, the monitor drains the sampler's samples
    sampler = system.SystemSampler(folder.system, interval=interval, gpu_indices=gpu_indices,
                                   step=lambda: monitor.step, try_number=try_number)
    monitor = AnomalyMonitor(config, events.EventStore(folder.anomalies),
                             model_name=folder.model, round_index=folder.index,
                             try_number=try_number, system=sampler, on_gpu=bool(gpu_indices),
                             tagger=tagger)
    sampler.start()
    if sampler.nvml_error:
        log.info("%s: GPU sampling off (%s)", folder.model, sampler.nvml_error)
    return Monitoring(monitor, sampler)
