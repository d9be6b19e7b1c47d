"""Shared text representation: the weighted merge arithmetic and where it is applied."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from training_lib.collab.strategies.shared_text import (apply_tables, byte_embeddings,
                                                        merge_tables, merged_by_width)
from training_lib.models.blocks import byte_encoder


def test_merge_is_the_data_size_weighted_mean():
    a, b = np.full((257, 2), 1.0), np.full((257, 2), 5.0)
    merged = merge_tables([a, b], [300, 100])
    np.testing.assert_allclose(merged, np.full((257, 2), (300 * 1 + 100 * 5) / 400))
    assert merged.dtype == np.float32


def test_merge_refuses_mismatched_shapes_and_bad_weights():
    with pytest.raises(ValueError, match="shapes"):
        merge_tables([np.zeros((257, 2)), np.zeros((257, 3))], [1, 1])
    with pytest.raises(ValueError, match="weights"):
        merge_tables([np.zeros((257, 2))], [0])


def test_only_widths_shared_by_two_models_are_merged():
    tables = {"text": [np.ones((257, 32))], "multi": [np.zeros((257, 32))],
              "code": [np.ones((257, 16))]}
    merged, weights = merged_by_width(tables, {"text": 3, "multi": 1, "code": 7})
    assert set(merged) == {32} and weights == {32: {"text": 3, "multi": 1}}
    np.testing.assert_allclose(merged[32], 0.75)


def _two_encoders() -> keras.Model:
    ids = keras.Input((12,), dtype="int32", name="ids")
    a = byte_encoder(ids, "text", width=4, embed=8)
    b = byte_encoder(ids, "caption", width=4, embed=6)
    return keras.Model(ids, keras.layers.Concatenate()([a, b]))


def test_byte_embeddings_are_found_and_set_by_width():
    model = _two_encoders()
    assert sorted(layer.name for layer in byte_embeddings(model)) == ["caption_bytes", "text_bytes"]
    table = np.random.default_rng(0).normal(size=(257, 8)).astype(np.float32)
    assert apply_tables(model, {8: table}) == ["text_bytes"]
    layers = {layer.name: layer for layer in byte_embeddings(model)}
    np.testing.assert_array_equal(layers["text_bytes"].embeddings.numpy(), table)
    assert not np.array_equal(layers["caption_bytes"].embeddings.numpy()[:, :6], table[:, :6])
