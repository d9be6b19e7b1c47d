"""A recompile (collaborative loss, the model's own loss again, the next round's worker)
continues the optimizer: moments and step count are carried, so a round that adds no
knowledge trains exactly like one uninterrupted fit. An optimizer built before the first
fit lets TensorFlow trace the train step once instead of twice."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from training_lib.training.optimizer_state import build_before_fit, carry_optimizer_state
from tests.fixtures.fit_callbacks import count_train_step_traces


def _model() -> keras.Model:
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(3)])
    model.compile(keras.optimizers.Adam(1e-2),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6)).astype("float32")
    return x, (x[:, 0] > 0).astype("int32") + (x[:, 1] > 1).astype("int32")


def test_two_fits_with_a_recompile_between_match_one_fit_when_the_state_is_carried():
    x, y = _data()
    whole = _model()
    whole.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)

    split = _model()
    split.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    previous = split.optimizer
    split.compile_from_config(split.get_compile_config())  # what a new round does
    assert carry_optimizer_state(previous, split)
    assert int(split.optimizer.iterations.numpy()) == 4
    split.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(whole.get_weights(), split.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)

    fresh = _model()  # the old behaviour: Adam restarts mid-training
    fresh.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    fresh.compile_from_config(fresh.get_compile_config())
    fresh.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    assert not all(np.allclose(a, b, atol=1e-6)
                   for a, b in zip(whole.get_weights(), fresh.get_weights()))


def test_a_different_optimizer_or_model_is_left_alone():
    x, y = _data()
    trained = _model()
    trained.fit(x, y, batch_size=16, epochs=1, verbose=0)
    other = keras.Sequential([keras.Input((6,)), keras.layers.Dense(3)])
    other.compile(keras.optimizers.Adam(1e-2), "mse")
    assert not carry_optimizer_state(trained.optimizer, other)  # other shapes
    assert int(other.optimizer.iterations.numpy()) == 0
    sgd = _model()
    sgd.compile(keras.optimizers.SGD(1e-2), "mse")
    assert not carry_optimizer_state(trained.optimizer, sgd)
    assert not carry_optimizer_state(None, sgd)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="TensorFlow's tracing")
def test_an_optimizer_built_before_the_first_fit_means_one_trace_of_the_train_step():
    x, y = _data()
    model = _model()
    assert not model.optimizer.built
    assert build_before_fit(model) and model.optimizer.built
    assert not build_before_fit(model)  # already built: nothing to do
    traces = count_train_step_traces(model)
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert len(traces) == 1
    unbuilt = _model()  # Keras left alone: the step creates Adam's variables, traced twice
    traces = count_train_step_traces(unbuilt)
    unbuilt.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert len(traces) == 2
