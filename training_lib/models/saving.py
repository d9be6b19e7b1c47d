"""Loading a saved model: the project's custom layers are registered first.

Keras finds a custom layer (`TreeComposer`, `HashedByteNgrams`, ...) by its registered
name only once the module that defines it has been imported; every place that loads a
`.keras` file or a registered version goes through here.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any


def register_custom_objects() -> None:
    """Import the modules whose `@keras.saving.register_keras_serializable` run on import."""
    from training_lib.models import blocks  # noqa: F401


def load_model(path: str | Path, compile: bool = True) -> Any:
    import keras

    register_custom_objects()
    return keras.saving.load_model(path, compile=compile)
