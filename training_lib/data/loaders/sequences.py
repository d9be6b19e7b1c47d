"""Loaders of token sequences from JSON records: arithmetic problems and propositions."""
from __future__ import annotations

import re
from typing import Any

import numpy as np

from training_lib.data.dataset import Dataset
from training_lib.data.loaders.json_records import read_records
from training_lib.data.loaders.registry import LoadRequest, register_loader
from training_lib.data.loaders.splits import split_rows
from training_lib.data.records import canonical_key

# whitespace around an operator goes ("727 + 681" is "727+681"); x, ×, ÷ and the minus
# sign are written as the demo data writes them; a trailing "=" or "= ?" is dropped
_AROUND_OPERATOR = re.compile(r"\s*([-+*/=()])\s*")
_TIMES_X = re.compile(r"(?<=[\d)])\s*[xX]\s*(?=[\d(])")
_ASKS = re.compile(r"\s*=\s*\??\s*$")
_SYMBOLS = str.maketrans({"×": "*", "∗": "*", "·": "*", "÷": "/", "−": "-", "–": "-"})


class CharVocab:
    """Character vocabulary: 0 = padding, 1 = unknown, then the characters seen."""

    def __init__(self, chars: list[str]) -> None:
        self.chars = chars
        self.index = {c: i + 2 for i, c in enumerate(chars)}

    @classmethod
    def fit(cls, texts: list[str]) -> "CharVocab":
        return cls(sorted({c for t in texts for c in t}))

    def __len__(self) -> int:
        return len(self.chars) + 2

    def encode(self, text: str, length: int) -> np.ndarray:
        ids = [self.index.get(c, 1) for c in text[:length]]
        return np.asarray(ids + [0] * (length - len(ids)), dtype=np.int32)

    def decode(self, ids: np.ndarray) -> str:
        return "".join(self.chars[i - 2] for i in ids if i >= 2)


@register_loader("arithmetic", kinds=("records:arithmetic",))
def arithmetic(req: LoadRequest) -> Dataset:
    """{"problem": "12+7", "answer": "19"} -> problem chars in, answer chars out.

    The answer is encoded reversed ("91"), units digit first, so each output position
    holds one place value whatever the answer's length (`info["answer_reversed"]`;
    `decode_answer` undoes it). On the demo data: 0.38 -> 0.48 test exact match.
    """
    found = read_records(req, "arithmetic", normalise_arithmetic)
    items = found.items
    pairs = [(s, r["problem"], r["answer"]) for s, r in items]
    if not pairs:
        raise found.no_match(req.model, "{problem, answer} records")
    vocab = CharVocab.fit([p for _, p, a in pairs] + [a for _, p, a in pairs])
    len_in = min(max(len(p) for _, p, _ in pairs), req.settings.preprocessing.text_max_length)
    len_out = min(max(len(a) for _, _, a in pairs), req.settings.preprocessing.text_max_length)
    rows = [(s, vocab.encode(p, len_in), vocab.encode(a[::-1], len_out), canonical_key(r))
            for (s, p, a), (_, r) in zip(pairs, items)]
    keys: dict[str, list[str]] = {}
    x, y = split_rows(rows, 50, req.model, keys)
    return Dataset(req.model, x, y, None,
                   {"vocab": vocab.chars, "vocab_size": len(vocab), "input_length": len_in,
                    "output_length": len_out, "answer_reversed": True, **found.info()},
                   [r.content_hash for r in req.records], keys)


def normalise_problem(text: str) -> str:
    """One spelling of an arithmetic problem: "727 + 681", "727+681 =" -> "727+681";
    "12 x 3", "12×3" -> "12*3"."""
    text = _TIMES_X.sub("*", text.translate(_SYMBOLS).strip())
    text = _ASKS.sub("", text)
    return " ".join(_AROUND_OPERATOR.sub(r"\1", text).split())


def normalise_arithmetic(record: dict) -> dict:
    """A canonical arithmetic record with its problem and answer in one spelling each
    (an answer of 19.0 is "19"), so spaced and unspaced copies are one sample."""
    answer = record["answer"]
    if isinstance(answer, float) and answer.is_integer():
        answer = int(answer)
    return {**record, "problem": normalise_problem(str(record["problem"])),
            "answer": " ".join(str(answer).split())}


def decode_answer(ids: np.ndarray, info: dict[str, Any]) -> str:
    """One predicted (or target) row of the arithmetic model as the answer text."""
    text = CharVocab(info["vocab"]).decode(ids)
    return text[::-1] if info.get("answer_reversed") else text


@register_loader("propositions", kinds=("records:proposition",))
def propositions(req: LoadRequest) -> Dataset:
    """{"proposition": "True and not False", "answer": true} -> token ids, boolean label."""
    found = read_records(req, "proposition")
    items = found.items
    texts = [(s, str(r["proposition"]), str(r["answer"]).lower()) for s, r in items]
    if not texts:
        raise found.no_match(req.model, "{proposition, answer} records")
    classes = sorted({a for _, _, a in texts})
    words = sorted({w for _, t, _ in texts for w in _tokens(t)})
    index = {w: i + 2 for i, w in enumerate(words)}
    length = min(max(len(_tokens(t)) for _, t, _ in texts), req.settings.preprocessing.text_max_length)
    rows = []
    for (split, text, answer), (_, record) in zip(texts, items):
        ids = [index.get(w, 1) for w in _tokens(text)][:length]
        rows.append((split, np.asarray(ids + [0] * (length - len(ids)), dtype=np.int32),
                     classes.index(answer), canonical_key(record)))
    keys: dict[str, list[str]] = {}
    x, y = split_rows(rows, 50, req.model, keys)
    return Dataset(req.model, x, y, classes, {"vocab": words, "vocab_size": len(words) + 2,
                                               "input_length": length, **found.info()},
                   [r.content_hash for r in req.records], keys)


def _tokens(text: str) -> list[str]:
    return text.replace("(", " ( ").replace(")", " ) ").split()
