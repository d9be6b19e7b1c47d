"""start_monitoring(): what the training worker calls around `fit.run()`.

    monitoring = start_monitoring(out, settings.anomalies, fit, model="logic_model",
                                  run_id=mlflow_run_id)
    try:
        fit.run()
    finally:
        monitoring.close()

It starts the system sampler (system.jsonl), attaches the anomaly monitor to the engine
(anomalies.jsonl, MLflow tags on the model's run) and, on close, stops the sampler and
judges the samples taken since the last log step.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from training_lib.config.anomalies import AnomalyConfig
from training_lib.monitoring import events, system
from training_lib.monitoring.callback import AnomalyMonitor

if TYPE_CHECKING:
    from training_lib.training.engine import ResumableFit

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


def start_monitoring(out: Path, config: AnomalyConfig, fit: "ResumableFit", *, model: str,
                     round_index: int = 1, try_number: int = 1,
                     gpu_indices: tuple[int, ...] = (), run_id: str | None = None,
                     interval: float = 2.0) -> Monitoring:
    tagger = None
    if run_id:
        from training_lib.registry import tracking

        def tagger(tags: dict[str, str]) -> None:
            tracking.set_tags(run_id, tags)

    monitor = AnomalyMonitor(config, events.EventStore(out / events.FILE), model_name=model,
                             round_index=round_index, try_number=try_number,
                             on_gpu=bool(gpu_indices), tagger=tagger)
    sampler = system.SystemSampler(out / system.FILE, interval=interval, gpu_indices=gpu_indices,
                                   step=lambda: monitor.step, try_number=try_number)
    monitor.system = sampler
    monitor.attach(fit)
    sampler.start()
    if sampler.nvml_error:
        log.info("%s: GPU sampling off (%s)", model, sampler.nvml_error)
    return Monitoring(monitor, sampler)
