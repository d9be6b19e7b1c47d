"""The `anomalies:` section of a preset: which anomaly detectors run while a model trains,
their thresholds, and what each does when it fires.

    anomalies:
      lr_factor: 0.5                       # rollback multiplies the learning rate by this
      nan: {action: rollback}
      loss_spike: {action: warn, z: 6}
      divergence: {action: stop}

Actions: `warn` (record the event and go on), `rollback` (restore the newest good
checkpoint before the anomaly, scale the learning rate by `lr_factor`, continue),
`stop` (end training early; the model is evaluated and saved as it is). Windows and
patiences count *log points* (one every 10 training steps) or epochs, as named.

The detectors, with their sections' fields and defaults, are not listed here: each is a
class registered in `config.extensions.DETECTORS` (built-ins in
`training_lib/monitoring/detectors/`) carrying its own `Config` model. A section names a
registered detector; anything else is an error naming the known ones.
"""
from __future__ import annotations

import difflib
from typing import Any, Literal

from pydantic import (BaseModel, ConfigDict, Field, ValidationError, model_serializer,
                      model_validator)

from training_lib.config.extensions import DETECTORS
from training_lib.config.keyed_error import KeyedValueError

Action = Literal["warn", "rollback", "stop"]
SETTINGS = ("enabled", "lr_factor")  # the section's own keys; every other key is a detector


class _Check(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class DetectorConfig(_Check):
    """Base of a detector's section: what to do when it fires (a detector's own `Config`
    subclasses it, sets the default action and adds its thresholds)."""

    action: Action = "warn"


def kinds() -> tuple[str, ...]:
    """The names of the registered detectors (the anomaly kinds), in registration order."""
    return DETECTORS.names()


class AnomalyConfig(_Check):
    enabled: bool = True
    lr_factor: float = Field(0.5, gt=0, lt=1, description="learning rate factor of a rollback")
    checks: dict[str, DetectorConfig] = Field(default_factory=dict, exclude=True,
                                              description="the detector sections the preset set")

    @model_validator(mode="before")
    @classmethod
    def _sections(cls, data: Any) -> Any:
        if not isinstance(data, dict) or _built(data.get("checks")):
            return data  # an instance, or copied in code with its checks validated
        out = {k: data[k] for k in SETTINGS if k in data}
        out["checks"] = {key: _section(key, value) for key, value in data.items()
                         if key not in SETTINGS}
        return out

    @model_serializer(mode="wrap")
    def _flat(self, handler: Any) -> dict[str, Any]:
        """Serialized as a preset writes it: one section per registered detector."""
        data = handler(self)
        for name in kinds():
            data[name] = self.check(name).model_dump()
        return data

    def check(self, kind: str) -> DetectorConfig:
        """The section of detector `kind`: as the preset set it, else its defaults."""
        found = self.checks.get(kind)
        return found if found is not None else DETECTORS.get(kind).Config()

    def action(self, kind: str) -> Action:
        return self.check(kind).action


def _built(checks: Any) -> bool:
    return (isinstance(checks, dict) and bool(checks)
            and all(isinstance(v, DetectorConfig) for v in checks.values()))


def _section(key: str, value: Any) -> DetectorConfig:
    """Validate one detector section; KeyedValueError naming the key path otherwise."""
    if key not in DETECTORS:
        known = (*SETTINGS, *kinds())
        close = difflib.get_close_matches(str(key), known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise KeyedValueError(("anomalies", key), key,
                              f"a setting or a registered anomaly detector: one of "
                              f"{', '.join(known)}{hint}")
    config_cls = DETECTORS.get(key).Config
    if isinstance(value, config_cls):
        return value
    fields = ", ".join(config_cls.model_fields)
    if not isinstance(value, dict):
        raise KeyedValueError(("anomalies", key), value,
                              f"a mapping of the {key} detector's settings ({fields})")
    try:
        return config_cls.model_validate(value)
    except ValidationError as e:
        err = e.errors(include_url=False)[0]
        loc = ("anomalies", key, *err["loc"])
        if err["type"] == "extra_forbidden":
            raise KeyedValueError(loc, err.get("input"),
                                  f"a setting of the {key} detector: one of {fields}") from None
        expected = err["msg"].removeprefix("Input should be ").removeprefix("Value error, ")
        raise KeyedValueError(loc, err.get("input"), expected) from None
