"""The loader registry: model specs name loaders by string; custom models get one by kind."""
from __future__ import annotations

import pytest

from training_lib.config.model_specs import MODELS
from training_lib.data.loaders.registry import (load_dataset, loader_for_kinds, loaders,
                                                register_loader)
from training_lib.errors import DataError


def test_every_model_specs_loader_is_registered():
    assert {spec.loader for spec in MODELS.values()} <= set(loaders())


def test_a_custom_model_gets_the_loader_of_its_first_readable_kind():
    assert loader_for_kinds(["image"]) == "images"
    assert loader_for_kinds(["document"]) == "images"
    assert loader_for_kinds(["video", "records:arithmetic"]) == "arithmetic"
    assert loader_for_kinds(["tabular"]) == "tables"
    assert loader_for_kinds(["video"]) is None


def test_a_loader_name_is_registered_once():
    with pytest.raises(ValueError, match="'images' is already registered"):
        register_loader("images")(lambda req: None)


def test_an_unknown_loader_names_the_known_ones():
    with pytest.raises(DataError, match="no loader 'nope'; known: arithmetic, audio"):
        load_dataset("nope", None)  # type: ignore[arg-type]
