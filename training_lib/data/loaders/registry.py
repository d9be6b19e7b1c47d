"""The loader registry: a model spec names its loader by string, resolved here.

A loader is a function `LoadRequest -> Dataset`, registered once by name with the
data kinds it reads for custom models (`@register_loader("audio", kinds=("audio",))`).
The built-in loaders are the other modules of this package; they are imported on
the first lookup, so importing the registry stays cheap and has no import circle.

Loaders use numpy only (no keras): decoded features come from the shared
`FeatureCache`, JSON records are read and split per record.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from training_lib.config.schema import PresetModel
from training_lib.data.records import FileRecord
from training_lib.errors import DataError

if TYPE_CHECKING:
    from training_lib.data.dataset import Dataset


@dataclass
class LoadRequest:
    model: str
    records: list[FileRecord]
    data_root: Path
    settings: PresetModel
    options: dict[str, Any] = field(default_factory=dict)
    _cache: Any = None

    @property
    def cache(self) -> Any:
        """The shared FeatureCache, opened on first use."""
        if self._cache is None:
            from training_lib.data.features.cache import FeatureCache

            self._cache = FeatureCache()
        return self._cache


Loader = Callable[[LoadRequest], "Dataset"]

LOADERS: dict[str, Loader] = {}
LOADER_FOR_KIND: dict[str, str] = {}  # data kind -> the loader a custom model of it gets
_builtins_imported = False


def register_loader(name: str, kinds: tuple[str, ...] = ()) -> Callable[[Loader], Loader]:
    """Decorator: make `name` a loader model specs can name; a custom model consuming
    one of `kinds` ("image", "records:arithmetic") gets this loader."""
    def register(fn: Loader) -> Loader:
        if name in LOADERS:
            raise ValueError(f"loader {name!r} is already registered")
        LOADERS[name] = fn
        for kind in kinds:
            LOADER_FOR_KIND.setdefault(kind, name)
        return fn
    return register


def _import_builtins() -> None:
    global _builtins_imported
    if _builtins_imported:
        return
    package = __name__.rpartition(".")[0]
    for module in pkgutil.iter_modules(importlib.import_module(package).__path__):
        importlib.import_module(f"{package}.{module.name}")
    _builtins_imported = True


def loaders() -> dict[str, Loader]:
    """Every registered loader by name, the built-in ones included."""
    _import_builtins()
    return LOADERS


def loader_for_kinds(kinds: tuple[str, ...] | list[str]) -> str | None:
    """The loader of the first of `kinds` some loader reads (a custom model's loader)."""
    _import_builtins()
    return next((LOADER_FOR_KIND[k] for k in kinds if k in LOADER_FOR_KIND), None)


def loadable_kinds() -> list[str]:
    _import_builtins()
    return sorted(LOADER_FOR_KIND)


def load_dataset(loader: str, req: LoadRequest) -> "Dataset":
    try:
        fn = loaders()[loader]
    except KeyError as e:
        raise DataError(f"no loader {loader!r}; known: {', '.join(sorted(LOADERS))}") from e
    return fn(req)
