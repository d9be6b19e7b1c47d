"""Registries of the project's extension points: anomaly detectors and collaboration
strategies.

A detector or a strategy is a class that registers itself once, by name, with a decorator
in its own module; the preset schema (which names a preset may use, each detector's
config fields and defaults), the severity of an anomaly and the report schema's enums
are read from here. This module is plain data on the ground floor: the config layer
reads it, the monitoring and collab layers register into it, and none imports the other.

The built-in entries live in `training_lib.monitoring.detectors` and
`training_lib.collab.strategies`; they are imported by name the first time a registry is
read (as Airflow discovers providers), so validating a preset knows them without the
config layer importing those packages. Both are light: no keras, mlflow or pandas.

    from training_lib.config.extensions import DETECTORS

    @DETECTORS.register
    class LrTooHigh(Detector):
        name = "lr_too_high"
        ...
"""
from __future__ import annotations

import importlib
import threading
from typing import Any, Callable, Generic, Iterator, TypeVar

T = TypeVar("T", bound=type)


class Registry(Generic[T]):
    """Classes of one extension point by their `name` attribute, in registration order."""

    def __init__(self, kind: str, builtins: str,
                 check: Callable[[type], str | None] | None = None) -> None:
        self.kind = kind
        self.builtins = builtins
        self._check = check
        self._entries: dict[str, T] = {}
        self._loaded = False
        self._lock = threading.RLock()

    def register(self, cls: T) -> T:
        """Class decorator: add `cls` under `cls.name` (a second class of that name is an error)."""
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not name.isidentifier():
            raise TypeError(f"{self.kind} {cls.__qualname__}: `name` must be an identifier, "
                            f"got {name!r}")
        problem = self._check(cls) if self._check else None
        if problem:
            raise TypeError(f"{self.kind} {name!r} ({cls.__qualname__}): {problem}")
        with self._lock:
            known = self._entries.get(name)
            if known is not None and known is not cls:
                raise ValueError(f"{self.kind} {name!r} is already registered by "
                                 f"{known.__module__}.{known.__qualname__}")
            self._entries[name] = cls
        return cls

    def unregister(self, name: str) -> None:
        """Remove an entry (tests that register a toy one clean up with this)."""
        with self._lock:
            self._entries.pop(name, None)

    def _load(self) -> None:
        if self._loaded:
            return
        with self._lock:
            if not self._loaded:
                self._loaded = True
                importlib.import_module(self.builtins)

    def names(self) -> tuple[str, ...]:
        self._load()
        return tuple(self._entries)

    def get(self, name: str) -> T:
        """The class registered as `name`; KeyError naming the known ones otherwise."""
        self._load()
        try:
            return self._entries[name]
        except KeyError:
            raise KeyError(f"unknown {self.kind} {name!r}; expected one of: "
                           f"{', '.join(self._entries)}") from None

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._entries

    def __iter__(self) -> Iterator[T]:
        self._load()
        return iter(list(self._entries.values()))


SEVERITIES = ("info", "warning", "critical")
ACTIONS = ("warn", "rollback", "stop")


def _check_detector(cls: type) -> str | None:
    if getattr(cls, "severity", None) not in SEVERITIES:
        return f"`severity` must be one of {', '.join(SEVERITIES)}, got {cls.severity!r}"
    config = getattr(cls, "Config", None)
    if config is None or not hasattr(config, "model_validate"):
        return "`Config` must be a pydantic model of its preset section"
    action = config.model_fields.get("action")
    if action is None or action.default not in ACTIONS:
        return f"`Config.action` must default to one of {', '.join(ACTIONS)}"
    return None


DETECTORS: Registry[Any] = Registry("anomaly detector", "training_lib.monitoring.detectors",
                                    _check_detector)
STRATEGIES: Registry[Any] = Registry("collaboration strategy", "training_lib.collab.strategies")


def severity_of(kind: str) -> str:
    """The severity of an anomaly of `kind` (the detector's registered default)."""
    return DETECTORS.get(kind).severity
