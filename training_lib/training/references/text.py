"""References for text and source code: TF-IDF of word and character n-grams.

The text loaders hold UTF-8 byte ids (byte + 1, 0 = padding, `data/loaders/media.py`),
so each row's string is rebuilt from them exactly as far as the model reads it (the
first `text_max_length` bytes; a character cut at the end is replaced).
texts -> word 1-2-grams + char 2-4-grams, logistic regression;
code -> the same with a token pattern that keeps punctuation (`{`, `def`, `#include`).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from training_lib.data.dataset import Dataset
from training_lib.training.references.registry import Reference, register_reference

CODE_TOKENS = r"[A-Za-z_]\w*|[^\sA-Za-z_0-9]+"  # identifiers, and runs of punctuation


def strings_of(ids: np.ndarray) -> list[str]:
    """(n, L) byte ids -> the n strings they encode."""
    out = []
    for row in np.asarray(ids):
        data = bytes(int(i) - 1 for i in row if 0 < i <= 256)
        out.append(data.decode("utf-8", errors="replace"))
    return out


def tfidf_logistic(token_pattern: str | None = None, c: float = 1.0) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1,
                            **({"token_pattern": token_pattern} if token_pattern else {}))
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True,
                            min_df=2, max_features=50_000)
    return make_pipeline(make_union(words, chars), LogisticRegression(C=c, max_iter=500))


def _strings(dataset: Dataset, split: str) -> list[str]:
    return strings_of(dataset.x[split])


@register_reference("texts")
def texts(dataset: Dataset, task: str) -> Reference:
    return Reference("TF-IDF word 1-2 + char 2-4-grams, logistic regression", _strings,
                     tfidf_logistic())


@register_reference("code")
def code(dataset: Dataset, task: str) -> Reference:
    return Reference("TF-IDF code tokens 1-2 + char 2-4-grams, logistic regression", _strings,
                     tfidf_logistic(CODE_TOKENS))
