"""References for the concept and logic records, and for tables.

propositions -> counts of token 1-3-grams, random forest (the tokens are rebuilt from the
loader's vocabulary: `info["vocab"]`, ids from 2; a parse tree is read in post-order);
strategy (numeric context -> class) and tables -> histogram gradient boosting (tables: a
classifier or a regressor, as the target column made the task; missing cells stay NaN);
environment (regression) -> standardized inputs, ridge;
features (autoencoder) -> PCA with the Keras model's bottleneck width: the reconstruction
of a linear autoencoder of the same width.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from training_lib.data.dataset import Dataset
from training_lib.training.references.registry import Reference, register_reference

SEED = 0


def _matrix(dataset: Dataset, split: str) -> np.ndarray:
    return np.asarray(dataset.x[split], dtype=np.float64).reshape(dataset.size(split), -1)


def _sentences(dataset: Dataset, split: str) -> list[str]:
    """Each row's tokens as text: token ids (n, L), or parse-tree nodes (n, nodes, 3) of
    (token id, left, right) in post-order, read as their tokens in that order."""
    vocab = dataset.info.get("vocab") or []
    ids = np.asarray(dataset.x[split])
    if ids.ndim == 3:
        ids = ids[..., 0]
    return [" ".join(vocab[i - 2] if 2 <= i < len(vocab) + 2 else "<unk>" for i in row if i)
            for row in ids]


@register_reference("propositions")
def propositions(dataset: Dataset, task: str) -> Reference:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.pipeline import make_pipeline

    grams = CountVectorizer(ngram_range=(1, 3), token_pattern=r"\S+", lowercase=False)
    forest = RandomForestClassifier(n_estimators=200, min_samples_leaf=2, random_state=SEED)
    return Reference("token 1-3-gram counts (post-order), random forest", _sentences,
                     make_pipeline(grams, forest))


@register_reference("strategy", "tables")
def gradient_boosting(dataset: Dataset, task: str) -> Reference:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    if task == "classification":
        return Reference("histogram gradient boosting classifier", _matrix,
                         HistGradientBoostingClassifier(max_iter=100, random_state=SEED))
    y = np.asarray(dataset.y["train"])
    if y.ndim > 1 and y.reshape(len(y), -1).shape[1] > 1:
        return ridge(dataset, task)  # one regressor per output would be its own reference
    return Reference("histogram gradient boosting regressor", _matrix,
                     HistGradientBoostingRegressor(max_iter=100, random_state=SEED))


@register_reference("environment")
def ridge(dataset: Dataset, task: str) -> Reference:
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return Reference("standardized inputs, ridge (alpha by CV)", _matrix,
                     make_pipeline(StandardScaler(), RidgeCV(alphas=(0.01, 0.1, 1.0, 10.0))))


def bottleneck_width(n_features: int) -> int:
    """The Keras autoencoder's code width (models/concepts.py `build_autoencoder`)."""
    return max(2, min(16, n_features // 4))


class PcaReconstruction:
    """A linear autoencoder: standardize, project on the top `width` principal
    components, map back. `fit(x, y)` ignores y (it is x); `predict` reconstructs."""

    def __init__(self, width: int) -> None:
        self.width = width

    def fit(self, x: np.ndarray, y: Any = None) -> "PcaReconstruction":
        from sklearn.decomposition import PCA
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        self.pipeline_ = make_pipeline(StandardScaler(),
                                       PCA(n_components=min(self.width, *x.shape),
                                           random_state=SEED)).fit(x)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.pipeline_.inverse_transform(self.pipeline_.transform(x))


@register_reference("features")
def pca(dataset: Dataset, task: str) -> Reference:
    width = bottleneck_width(int(dataset.info.get("n_features") or _matrix(dataset, "train")
                                 .shape[1]))
    return Reference(f"PCA reconstruction, {width} components", _matrix, PcaReconstruction(width))
