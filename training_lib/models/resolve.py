"""Find a model's spec (built-in or the preset's own) and build it lazily."""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from training_lib.config.schema import PresetModel
from training_lib.errors import PresetError, TrainingError
from training_lib.config.model_specs import MODELS, ModelSpec

if TYPE_CHECKING:
    import keras

    from training_lib.data.dataset import Dataset


def spec_for(name: str, settings: PresetModel) -> ModelSpec:
    if name in MODELS:
        return MODELS[name]
    custom = settings.custom_models.get(name)
    if custom is None:
        raise PresetError(f"unknown model {name!r}; expected a built-in model or a key of "
                          "custom_models")
    # the loader of the first kind it consumes that a loader reads (`register_loader(kinds=)`)
    from training_lib.data.loaders.registry import loadable_kinds, loader_for_kinds

    loader = loader_for_kinds(custom.consumes)
    if loader is None:
        raise PresetError(f"custom_models.{name}.consumes: got {list(custom.consumes)}; expected "
                          f"one of {', '.join(loadable_kinds())}")
    return ModelSpec(name, f"custom model {custom.entry}", custom.consumes, custom.task,
                     custom.entry, custom.metric, loader=loader, tags=("custom",))


def import_entry(entry: str) -> Any:
    module_name, _, attr = entry.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as e:
        raise TrainingError(f"cannot import model builder {entry!r}: {e}") from e


def build_model(spec: ModelSpec, dataset: "Dataset", learning_rate: float) -> "keras.Model":
    """Call the builder; compile custom models that come back uncompiled."""
    model = import_entry(spec.builder)(dataset, learning_rate)
    if getattr(model, "optimizer", None) is None or not getattr(model, "compiled", True):
        from training_lib.models.common import compile_for_task

        compile_for_task(model, spec.task, learning_rate)
    return model
