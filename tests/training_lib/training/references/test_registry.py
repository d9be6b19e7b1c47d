"""Every built-in model has a classical reference, and each kind scores what it should on
small data whose answer is known; the metric is the one `evaluation.score` computes."""
from __future__ import annotations

import numpy as np
import pytest

from training_lib.data.dataset import Dataset
from training_lib.training.references.registry import build_reference, references, run_reference
from training_lib.training.references.text import strings_of

RNG = np.random.default_rng(0)


def _split(x, y, classes=None, info=None, n_test=60) -> Dataset:
    take = (lambda v, s: {k: a[s] for k, a in v.items()}) if isinstance(x, dict) else \
        (lambda v, s: v[s])
    return Dataset("m", {"train": take(x, slice(n_test, None)), "test": take(x, slice(0, n_test))},
                   {"train": y[n_test:], "test": y[:n_test]}, classes, info or {})


def test_every_built_in_model_has_a_reference():
    from training_lib.config.model_specs import MODELS

    assert {spec.loader for spec in MODELS.values()} <= set(references())


def test_classifier_metric_is_the_accuracy_of_its_predictions():
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.repeat(np.repeat((digits.images * 15).astype(np.uint8), 4, 1), 4, 2)
    dataset = _split(images[..., None].repeat(3, -1)[:600], digits.target[:600],
                     [str(c) for c in range(10)], n_test=150)
    result = run_reference("images", dataset, "classification")
    reference = build_reference("images", dataset, "classification")
    reference.estimator.fit(reference.inputs(dataset, "train"), dataset.y["train"])
    predicted = reference.estimator.predict(reference.inputs(dataset, "test"))
    assert result["metric"] == pytest.approx(np.mean(predicted == dataset.y["test"]))
    assert result["metric"] > 0.85 and "logistic regression" in result["model"]
    assert result["seconds"] > 0


def test_text_is_rebuilt_from_byte_ids_and_classified():
    words = {0: ["goal", "match", "team", "score"], 1: ["court", "judge", "law", "appeal"]}
    labels = RNG.integers(0, 2, 300)
    texts = [" ".join(RNG.choice(words[int(c)], 6)) + " é" for c in labels]
    ids = np.zeros((len(texts), 48), np.int32)
    for i, text in enumerate(texts):
        raw = np.frombuffer(text.encode(), np.uint8)[:48].astype(np.int32) + 1
        ids[i, :len(raw)] = raw
    assert strings_of(ids[:2]) == texts[:2]
    for loader in ("texts", "code"):
        result = run_reference(loader, _split(ids, labels, ["law", "sport"]), "classification")
        assert result["metric"] == 1.0 and "TF-IDF" in result["model"]


def test_audio_uses_per_band_statistics():
    labels = RNG.integers(0, 3, 240)
    spectrograms = RNG.normal(size=(240, 20, 30)).astype("float32")
    spectrograms[np.arange(240), labels * 5] += 3.0  # each word is loud in its own band
    result = run_reference("audio", _split(spectrograms, labels, ["a", "b", "c"]),
                           "classification")
    assert result["metric"] > 0.95


def test_regression_autoencoder_and_tables():
    x = RNG.normal(size=(400, 6))
    y = x @ RNG.normal(size=(6, 3)) + 0.01 * RNG.normal(size=(400, 3))
    env = run_reference("environment", _split(x, y), "regression")
    assert env["metric"] > 0.99 and "ridge" in env["model"]
    codes = RNG.normal(size=(400, 4))  # 32 features of rank 4: the bottleneck is 32 // 4 = 8
    features = codes @ RNG.normal(size=(4, 32)) + 0.01 * RNG.normal(size=(400, 32))
    auto = run_reference("features", _split(features, features, info={"n_features": 32}),
                         "autoencoder")
    assert auto["metric"] > 0.99 and auto["model"] == "PCA reconstruction, 8 components"
    table = x.copy()
    table[::7, 0] = np.nan  # a missing cell
    target = (x[:, 1] > 0).astype(int)
    tab = run_reference("tables", _split(table, target, ["no", "yes"],
                                         {"task": "classification"}), "classification")
    assert tab["metric"] > 0.9 and "gradient boosting" in tab["model"]
    reg = run_reference("tables", _split(table, x[:, 1] * 2, info={"task": "regression"}),
                        "classification")  # the dataset's own task wins
    assert reg["metric"] > 0.9


def test_arithmetic_picks_the_digit_wise_forests_when_they_beat_the_most_frequent_answer():
    from training_lib.data.loaders.sequences import CharVocab

    a, b = RNG.integers(0, 10, 1500), RNG.integers(0, 10, 1500)
    problems = [f"{p}+{q}" for p, q in zip(a, b)]
    answers = [str(p + q)[::-1] for p, q in zip(a, b)]  # units digit first, as the loader
    vocab = CharVocab.fit(problems + answers)
    x = np.stack([vocab.encode(p, 3) for p in problems])
    y = np.stack([vocab.encode(s, 2) for s in answers])
    dataset = _split(x, y, info={"vocab": vocab.chars, "vocab_size": len(vocab)}, n_test=200)
    result = run_reference("arithmetic", dataset, "seq2seq")
    assert result["model"].endswith(": digit-wise random forests")
    assert result["metric"] > 0.9
    same = Dataset("m", dataset.x, {"train": np.tile(y[0], (len(y) - 200, 1)),
                                    "test": dataset.y["test"]}, None, dataset.info)
    assert run_reference("arithmetic", same, "seq2seq")["model"].endswith(
        ": most frequent answer")  # nothing to learn: the simpler one


def test_propositions_and_pairs():
    vocab = ["(", ")", "False", "True", "and", "not", "or"]
    sentences = [[RNG.choice(["True", "False"])] + (["and", "True"] if RNG.random() < .5 else [])
                 for _ in range(300)]
    labels = np.array([int(s[0] == "True") for s in sentences])
    ids = np.zeros((300, 3), np.int32)
    for i, s in enumerate(sentences):
        ids[i, :len(s)] = [vocab.index(w) + 2 for w in s]
    logic = run_reference("propositions", _split(ids, labels, ["false", "true"],
                                                 {"vocab": vocab}), "classification")
    assert logic["metric"] == 1.0
    trees = np.stack([ids, np.zeros_like(ids), np.zeros_like(ids)], axis=-1)  # (n, nodes, 3)
    assert run_reference("propositions", _split(trees, labels, ["false", "true"],
                                                {"vocab": vocab}), "classification")[
        "metric"] == 1.0
    labels = RNG.integers(0, 2, 200)
    pairs = {"image": np.zeros((200, 8, 8, 3), np.uint8), "audio": RNG.normal(size=(200, 4, 5)),
             "text": np.zeros((200, 6), np.int32), "present": np.ones((200, 3), np.float32)}
    pairs["image"][labels == 1] = 200  # the class is in the picture
    assert run_reference("pairs", _split(pairs, labels, ["0", "1"]), "classification")[
        "metric"] == 1.0
