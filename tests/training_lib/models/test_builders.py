"""Every catalog model builds from a tiny Dataset, trains a couple of steps, predicts the
shape its task needs, and survives a save/load round trip (what the worker does)."""
from __future__ import annotations

from typing import Any

import keras
import numpy as np
import pytest

from training_lib.data.dataset import Dataset
from training_lib.models.blocks import ModalityDropout
from training_lib.config.model_specs import MODELS
from training_lib.models.resolve import build_model
from training_lib.training.evaluation import evaluate, r2

N = 24


def _split(x: Any, y: Any) -> tuple[dict, dict]:
    def rows(v: Any, sl: slice) -> Any:
        return {k: a[sl] for k, a in v.items()} if isinstance(v, dict) else v[sl]
    parts = {"train": slice(0, 16), "val": slice(16, 20), "test": slice(20, N)}
    return ({s: rows(x, sl) for s, sl in parts.items()},
            {s: rows(y, sl) for s, sl in parts.items()})


def _stats(x: np.ndarray) -> dict[str, list[float]]:
    return {"x_mean": x.mean(0).tolist(), "x_std": (x.std(0) + 1e-3).tolist()}


def tiny(name: str) -> Dataset:
    """A Dataset shaped like `name`'s loader output, random content."""
    rng = np.random.default_rng(0)
    labels = (np.arange(N) % 3).astype("int32")
    classes = ["a", "b", "c"]
    if name == "vision_service":
        x, info = rng.integers(0, 255, (N, 16, 16, 3), dtype=np.uint8), {"image_size": 16}
    elif name == "audio_service":
        x, info = rng.normal(size=(N, 40, 21)).astype("float32"), {"n_mels": 40, "frames": 21}
    elif name in ("causal_reasoning_engine", "code_model"):
        x = rng.integers(0, 257, (N, 32)).astype("int32")
        info = {"input_length": 32, "vocab_size": 257}
    elif name == "multimodal_service":
        x = {"image": rng.integers(0, 255, (N, 16, 16, 3), dtype=np.uint8),
             "audio": rng.normal(size=(N, 40, 21)).astype("float32"),
             "text": rng.integers(0, 257, (N, 20)).astype("int32"),
             "present": np.ones((N, 3), "float32")}
        x["present"][::4, 1] = 0.0
        info = {"image_size": 16, "n_mels": 40, "frames": 21, "input_length": 20,
                "vocab_size": 257, "modalities": ["image", "audio", "text"]}
    elif name == "math_model":
        x = rng.integers(1, 14, (N, 7)).astype("int32")
        y = rng.integers(1, 14, (N, 3)).astype("int32")
        xs, ys = _split(x, y)
        return Dataset(name, xs, ys, None, {"vocab_size": 14, "input_length": 7,
                                            "output_length": 3, "vocab": list("0123456789+-")})
    elif name == "logic_model":  # parse trees: (token, left, right) per node, root last
        from training_lib.data.loaders.sequences import (encode_tree, parse_proposition,
                                                         proposition_tokens)
        texts = ["True and not False", "(False or True) and True", "not (True or False)",
                 "False"] * (N // 4)
        vocab = {w: i + 2 for i, w in enumerate(["(", ")", "False", "True", "and", "not", "or"])}
        x = np.stack([encode_tree(parse_proposition(proposition_tokens(t)), vocab, 9)
                      for t in texts])
        info = {"vocab_size": 9, "max_nodes": 9}
        classes = ["false", "true"]
        labels = np.asarray([eval(t) for t in texts], dtype="int32")
    else:
        width = {"environment_simulator": 3, "adaptive_learning_controller": 4,
                 "alpha_deep_model": 12, "data_analysis_model": 5}[name]
        x = rng.normal(3.0, 2.0, (N, width)).astype("float32")
        info = {**_stats(x[:16]), "n_features": width}
        if name == "environment_simulator":
            y = x[:, :2] * 10 + 1
            info.update(n_outputs=2, y_mean=y[:16].mean(0).tolist(), y_std=y[:16].std(0).tolist())
            xs, ys = _split(x, y)
            return Dataset(name, xs, ys, None, info)
        if name == "alpha_deep_model":
            info.update(y_mean=info["x_mean"], y_std=info["x_std"])
            xs, ys = _split(x, x)
            return Dataset(name, xs, ys, None, info)
        info["task"] = "classification"
    xs, ys = _split(x, labels)
    return Dataset(name, xs, ys, classes, info)


# models with layers beyond the plain ones (custom, inverted Normalization, adaptive
# pooling) are also loaded back from disk, as the registry and serving do
RELOADED = ("multimodal_service", "environment_simulator", "vision_service",
            "causal_reasoning_engine", "logic_model")
_TRAINED: dict[str, tuple[keras.Model, Dataset]] = {}


def trained(name: str) -> tuple[keras.Model, Dataset]:
    """`name`'s model built on its tiny Dataset and fitted for one epoch (2 steps), once."""
    if name not in _TRAINED:
        data = tiny(name)
        keras.utils.set_random_seed(0)
        model = build_model(MODELS[name], data, 1e-3)
        before = [w.copy() for w in model.get_weights()]
        history = model.fit(data.x["train"], data.y["train"], batch_size=8, epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][-1])
        assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
        _TRAINED[name] = (model, data)
    return _TRAINED[name]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_builder_trains_and_predicts_the_task_shape(name, tmp_path):
    spec = MODELS[name]
    model, data = trained(name)
    assert model.optimizer is not None
    out = np.asarray(model.predict(data.x["test"], batch_size=256, verbose=0))
    n = data.size("test")
    if spec.task == "classification":
        assert out.shape == (n, len(data.classes))
    elif spec.task == "seq2seq":
        assert out.shape == (n, data.info["output_length"], data.info["vocab_size"])
    else:
        assert out.shape == np.shape(data.y["test"])
    scores = evaluate(spec.task, model, data)
    assert set(scores) == {"metric", "baseline", "n_test"}
    path = tmp_path / f"{name}.keras"
    model.save(path)
    if name in RELOADED:
        again = keras.saving.load_model(path)
        predicted = np.asarray(again.predict(data.x["test"], batch_size=256, verbose=0))
        assert np.allclose(predicted, out, atol=1e-5)


def test_regressors_answer_in_raw_units():
    model, data = trained("environment_simulator")
    # barely trained, the standardized output is near 0, so the raw output is near the mean
    out = np.asarray(model.predict(data.x["test"], batch_size=256, verbose=0))
    assert np.allclose(out.mean(0), data.info["y_mean"], atol=3 * max(data.info["y_std"]))
    assert abs(out.mean()) > 5  # the targets are ~31 on average, not standardized ~0


def test_tabular_regression_head_and_scoring():
    data = tiny("data_analysis_model")
    y = (data.x["train"][:, 0] * 4).astype("float32")
    data.y = {"train": y, "val": y[:4], "test": (data.x["test"][:, 0] * 4).astype("float32")}
    data.classes = None
    data.info.update(task="regression", y_mean=[float(y.mean())], y_std=[float(y.std())])
    model = build_model(MODELS["data_analysis_model"], data, 1e-2)
    model.fit(data.x["train"], data.y["train"], epochs=2, batch_size=8, verbose=0)
    predicted = np.asarray(model.predict(data.x["test"], verbose=0))
    assert predicted.shape == (4, 1)
    scores = evaluate("classification", model, data)  # the dataset's own task wins
    assert scores["metric"] == pytest.approx(r2(data.y["test"], predicted), abs=1e-6)


def test_multimodal_ignores_an_absent_modality():
    model, data = trained("multimodal_service")
    x = {k: v[:4].copy() for k, v in data.x["test"].items()}
    x["present"][:] = [1.0, 0.0, 1.0]
    first = np.asarray(model.predict(x, batch_size=256, verbose=0))
    x["audio"] = np.random.default_rng(5).normal(size=x["audio"].shape).astype("float32") * 9
    second = np.asarray(model.predict(x, batch_size=256, verbose=0))
    assert np.allclose(second, first, atol=1e-5)
    x["present"][:] = 1.0  # once present, the same audio does change the answer
    assert not np.allclose(np.asarray(model.predict(x, batch_size=256, verbose=0)), first,
                           atol=1e-5)


def test_modality_dropout_keeps_one_modality_and_is_off_at_inference():
    layer = ModalityDropout(0.9, seed=3)
    flags = np.ones((256, 3), "float32")
    flags[:, 2] = 0.0
    out = keras.ops.convert_to_numpy(layer(flags, training=True))
    assert (out.sum(axis=1) >= 1).all() and (out[:, 2] == 0).all()
    assert (out < flags).any()
    assert np.array_equal(keras.ops.convert_to_numpy(layer(flags, training=False)), flags)
