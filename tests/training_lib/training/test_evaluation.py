"""Every metric `evaluate()` reports, recomputed here from a small real Keras model's
predictions on the test split with scikit-learn (or NumPy where sklearn has no such metric):
accuracy, exact match, R^2, reconstruction R^2, their trivial baselines, and the per-character
accuracy the seq2seq model logs while it trains."""
from __future__ import annotations

import keras
import numpy as np
import pytest
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.metrics import accuracy_score, r2_score

from training_lib.data.dataset import Dataset
from training_lib.training.evaluation import evaluate

N_TRAIN, N_VAL, N_TEST = 300, 40, 130  # 130 test rows: no accuracy lands on a round 0.99


def _dataset(x: np.ndarray, y: np.ndarray, info: dict | None = None) -> Dataset:
    a, b = N_TRAIN, N_TRAIN + N_VAL
    return Dataset("t", {"train": x[:a], "val": x[a:b], "test": x[b:]},
                   {"train": y[:a], "val": y[a:b], "test": y[b:]}, None, info or {})


def _fit(model: keras.Model, data: Dataset, loss, metrics: list | None = None,
         lr: float = 1e-2, batch_size: int = 32) -> keras.Model:
    model.compile(keras.optimizers.Adam(lr), loss, metrics=metrics or [])
    model.fit(data.x["train"], data.y["train"], batch_size=batch_size, epochs=1, verbose=0)
    return model


def _predict(model: keras.Model, data: Dataset) -> np.ndarray:
    """The model's test predictions, in float64 (sklearn sums float32 input in float32)."""
    predicted = np.asarray(model.predict(data.x["test"], verbose=0))
    return predicted.astype("float64") if predicted.dtype.kind == "f" else predicted


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(3)


def test_accuracy_and_majority_baseline_match_sklearn():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N_TRAIN + N_VAL + N_TEST, 6)).astype("float32")
    y = np.where(x[:, 0] + 0.5 * x[:, 1] > 0.6, 2, (x[:, 2] > 0).astype(int)).astype("int32")
    data = _dataset(x, y)
    model = _fit(keras.Sequential([keras.Input((6,)), keras.layers.Dense(16, activation="relu"),
                                   keras.layers.Dense(3)]), data,
                 "sparse_categorical_crossentropy")
    scores = evaluate("classification", model, data)

    expected = accuracy_score(data.y["test"], _predict(model, data).argmax(axis=1))
    majority = DummyClassifier(strategy="most_frequent").fit(data.x["train"], data.y["train"])
    assert scores == {"metric": pytest.approx(expected, abs=1e-12),
                      "baseline": pytest.approx(majority.score(data.x["test"], data.y["test"]),
                                                abs=1e-12),
                      "n_test": N_TEST}
    assert 0.4 < scores["metric"] < 1  # a model that learned something, but not everything


def _seq2seq_data() -> Dataset:
    """Copy the first three tokens of a 5-token input (vocab 6)."""
    rng = np.random.default_rng(1)
    x = rng.integers(1, 6, (N_TRAIN + N_VAL + N_TEST, 5)).astype("int32")
    y = x[:, :3].copy()
    y[: N_TRAIN // 3] = [1, 2, 3]  # a frequent training answer: the trivial baseline
    return _dataset(x, y, {"output_length": 3, "vocab_size": 6})


def _seq2seq_model() -> keras.Model:
    inputs = keras.Input((5,), dtype="int32")
    h = keras.layers.Flatten()(keras.layers.Embedding(6, 8)(inputs))
    h = keras.layers.Dense(3 * 6)(keras.layers.Dense(64, activation="relu")(h))
    return keras.Model(inputs, keras.layers.Reshape((3, 6))(h))


def test_exact_match_and_char_accuracy_match_sklearn():
    data = _seq2seq_data()
    model = _fit(_seq2seq_model(), data, keras.losses.SparseCategoricalCrossentropy(
        from_logits=True), [keras.metrics.SparseCategoricalAccuracy(name="char_accuracy")])
    scores = evaluate("seq2seq", model, data)

    predicted = _predict(model, data).argmax(axis=-1)
    as_text = lambda rows: [" ".join(map(str, row)) for row in rows]  # noqa: E731
    assert scores["metric"] == pytest.approx(
        accuracy_score(as_text(data.y["test"]), as_text(predicted)), abs=1e-12)
    answers = as_text(data.y["train"])
    common = max(set(answers), key=answers.count)
    assert common == "1 2 3"
    assert scores["baseline"] == pytest.approx(
        accuracy_score(as_text(data.y["test"]), [common] * N_TEST), abs=1e-12)
    assert 0 < scores["metric"] < 1 and scores["n_test"] == N_TEST
    # the per-character accuracy Keras logs each epoch is the share of right characters
    char = model.evaluate(data.x["test"], data.y["test"], verbose=0, return_dict=True)
    assert char["char_accuracy"] == pytest.approx(
        accuracy_score(data.y["test"].ravel(), predicted.ravel()), abs=1e-6)


def test_r2_and_mean_baseline_match_sklearn():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(N_TRAIN + N_VAL + N_TEST, 4)).astype("float32")
    y = np.stack([3 * x[:, 0] - x[:, 1] + 1, 0.2 * x[:, 2] + 5], axis=1).astype("float32")
    data = _dataset(x, y)
    model = _fit(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]), data, "mse",
                 lr=0.1, batch_size=8)
    scores = evaluate("regression", model, data)

    # one R^2 over all outputs: residual and total sums pooled, i.e. sklearn's
    # variance-weighted average of the per-output R^2
    predicted = _predict(model, data)
    assert scores["metric"] == pytest.approx(
        r2_score(data.y["test"].astype("float64"), predicted, multioutput="variance_weighted"),
        abs=1e-9)
    mean = DummyRegressor().fit(data.x["train"], data.y["train"].astype("float64"))
    assert scores["baseline"] == pytest.approx(
        r2_score(data.y["test"].astype("float64"), mean.predict(data.x["test"]),
                 multioutput="variance_weighted"), abs=1e-6)  # evaluate's mean is float32
    assert scores["metric"] > scores["baseline"] and scores["metric"] < 1


def test_reconstruction_r2_matches_sklearn():
    rng = np.random.default_rng(3)
    latent = rng.normal(size=(N_TRAIN + N_VAL + N_TEST, 2))
    x = (latent @ rng.normal(size=(2, 6)) + 0.1 * rng.normal(size=(len(latent), 6)))
    data = _dataset(x.astype("float32"), x.astype("float32"))
    model = _fit(keras.Sequential([keras.Input((6,)), keras.layers.Dense(2),
                                   keras.layers.Dense(6)]), data, "mse", lr=0.05, batch_size=8)
    scores = evaluate("autoencoder", model, data)

    predicted, truth = _predict(model, data), data.x["test"].astype("float64")
    assert scores["metric"] == pytest.approx(
        r2_score(truth, predicted, multioutput="variance_weighted"), abs=1e-9)
    mean = DummyRegressor().fit(data.x["train"], data.x["train"].astype("float64"))
    assert scores["baseline"] == pytest.approx(
        r2_score(truth, mean.predict(data.x["test"]), multioutput="variance_weighted"),
        abs=1e-6)  # evaluate's training mean is summed in float32
    assert scores["baseline"] < 0.05 < scores["metric"] < 1
