"""Streaming anomaly detectors, one registered class per module (see base.py).

    point detectors  (one value per log point, every 10 steps):  nan, loss_spike,
                     divergence, throughput_collapse
    epoch detectors  (one value per epoch):                      nan, plateau, overfitting
    system detectors (one system sample):                        memory_saturation, gpu_idle

Importing this package registers the built-ins in that order (the order findings of
one step are reported in), then any other module of this folder: a new detector is a
new module here (or anywhere that is imported before training) and its test.
No keras, mlflow or pandas here: preset validation imports this package.
"""
from __future__ import annotations

import importlib
import pkgutil

from training_lib.monitoring.detectors.base import Detector, Finding, Point
from training_lib.monitoring.detectors.nan import NonFinite
from training_lib.monitoring.detectors.loss_spike import LossSpike
from training_lib.monitoring.detectors.divergence import Divergence
from training_lib.monitoring.detectors.plateau import Plateau
from training_lib.monitoring.detectors.overfitting import Overfitting
from training_lib.monitoring.detectors.throughput import ThroughputCollapse
from training_lib.monitoring.detectors.memory import MemorySaturation
from training_lib.monitoring.detectors.gpu_idle import GpuIdle
from training_lib.monitoring.detectors.detector_set import DetectorSet

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["Detector", "DetectorSet", "Divergence", "Finding", "GpuIdle", "LossSpike",
           "MemorySaturation", "NonFinite", "Overfitting", "Plateau", "Point",
           "ThroughputCollapse"]
