"""A detector registered from outside the package is a first-class one: a preset may
configure it, the monitor runs it and records its events with its severity, and the
report schema accepts its kind. An unknown section is still an error naming the known."""
from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import Field

from training_lib.config.anomalies import Action, AnomalyConfig, DetectorConfig
from training_lib.config.extensions import DETECTORS
from training_lib.config.presets import validate_settings
from training_lib.errors import PresetError
from training_lib.monitoring.detectors import Detector, DetectorSet, Finding, Point
from training_lib.reports.schema import schema

PRESET = {"description": "toy", "target_models": ("vision_service",), "epochs": 1}


@pytest.fixture
def loss_ceiling():
    """A toy detector: the loss above a fixed ceiling (registered for this test only)."""

    @DETECTORS.register
    class LossCeiling(Detector):
        name = "loss_ceiling"
        severity = "critical"

        class Config(DetectorConfig):
            action: Action = "warn"
            ceiling: float = Field(10.0, gt=0)

        def __init__(self, ceiling: float = 10.0) -> None:
            self.ceiling = ceiling
            self.active = False

        def on_point(self, point: Point) -> Finding | None:
            above, was = point.loss > self.ceiling, self.active
            self.active = above
            if above and not was:
                return Finding(self.name, point.step, point.prev_step + 1,
                               f"loss {point.loss:.3g} above {self.ceiling}", point.loss,
                               self.ceiling)
            return None

    yield LossCeiling
    DETECTORS.unregister("loss_ceiling")


def test_a_registered_detector_is_configured_by_a_preset_and_fires_with_its_severity(
        loss_ceiling):
    settings = validate_settings({**PRESET, "anomalies": {"loss_ceiling": {"ceiling": 2.0}}},
                                 Path("toy.yaml"))
    assert settings.anomalies.check("loss_ceiling").ceiling == 2.0
    assert settings.model_dump()["anomalies"]["loss_ceiling"] == {"action": "warn",
                                                                  "ceiling": 2.0}
    detectors = DetectorSet(settings.anomalies)
    losses = [1.0, 1.5, 3.0, 3.5, 1.0, 2.5]
    found = [f for i, loss in enumerate(losses)
             for f in detectors.on_point(10 * (i + 1), 10 * i, loss, {"loss": loss})]
    assert [(f.kind, f.step, f.severity) for f in found] == [
        ("loss_ceiling", 30, "critical"), ("loss_ceiling", 60, "critical")]


def test_the_monitor_records_its_events_and_the_report_schema_accepts_them(loss_ceiling,
                                                                           tmp_path):
    from training_lib.monitoring.callback import AnomalyMonitor
    from training_lib.monitoring.events import EventStore, read_events

    config = AnomalyConfig.model_validate({"loss_ceiling": {"ceiling": 2.0}})
    store = EventStore(tmp_path / "anomalies.jsonl")
    monitor = AnomalyMonitor(config, store, model_name="toy")
    for step, loss in ((10, 1.0), (20, 5.0)):
        monitor.log(step, {"loss": loss})
    events = read_events(store.path)
    assert [(e["kind"], e["severity"], e["step"]) for e in events] == [
        ("loss_ceiling", "critical", 20)]
    assert "loss_ceiling" in schema()["$defs"]["anomaly"]["properties"]["kind"]["enum"]


def test_an_unknown_detector_section_names_file_key_value_and_the_known_ones(loss_ceiling):
    with pytest.raises(PresetError) as caught:
        validate_settings({**PRESET, "anomalies": {"loss_celing": {"ceiling": 2.0}}},
                          Path("presets/toy.yaml"))
    message = str(caught.value)
    assert message.startswith("presets/toy.yaml: key 'anomalies.loss_celing': got 'loss_celing'")
    assert "did you mean 'loss_ceiling'?" in message and "divergence" in message
    with pytest.raises(PresetError, match=r"anomalies.loss_ceiling.ceiling.*greater than 0"):
        validate_settings({**PRESET, "anomalies": {"loss_ceiling": {"ceiling": -1.0}}},
                          Path("toy.yaml"))


def test_the_registry_refuses_a_second_detector_of_a_name_and_a_bad_severity():
    with pytest.raises(ValueError, match="'nan' is already registered"):
        DETECTORS.register(type("OtherNan", (Detector,), {"name": "nan", "severity": "info"}))
    with pytest.raises(TypeError, match="severity"):
        DETECTORS.register(type("Loud", (Detector,), {"name": "loud", "severity": "panic"}))
    assert "loud" not in DETECTORS
