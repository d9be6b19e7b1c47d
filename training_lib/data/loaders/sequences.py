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
    """{"proposition": "True and not False", "answer": true} -> its parse tree, boolean label.

    Each proposition is parsed (`parse_proposition`: not/and/or/xor/implies in their usual
    spellings, parentheses, any other token an atom) into its nodes in post-order,
    `(token id, left child, right child)` per node, right-aligned so the root is the last
    node; a missing child points at slot `max_nodes` (an always-zero vector in the
    model). The model learns what each token means; the loader only gives the structure.
    """
    found = read_records(req, "proposition")
    items = found.items
    texts = [(s, str(r["proposition"]), str(r["answer"]).lower()) for s, r in items]
    if not texts:
        raise found.no_match(req.model, "{proposition, answer} records")
    classes = sorted({a for _, _, a in texts})
    words = sorted({w for _, t, _ in texts for w in proposition_tokens(t)})
    index = {w: i + 2 for i, w in enumerate(words)}
    trees = [parse_proposition(proposition_tokens(t)) for _, t, _ in texts]
    max_nodes = max(len(tree) for tree in trees)
    rows = []
    for (split, _, answer), tree, (_, record) in zip(texts, trees, items):
        rows.append((split, encode_tree(tree, index, max_nodes), classes.index(answer),
                     canonical_key(record)))
    keys: dict[str, list[str]] = {}
    x, y = split_rows(rows, 50, req.model, keys)
    return Dataset(req.model, x, y, classes, {"vocab": words, "vocab_size": len(words) + 2,
                                               "max_nodes": max_nodes, **found.info()},
                   [r.content_hash for r in req.records], keys)


_PROPOSITION_TOKEN = re.compile(r"&&|\|\||->|=>|<->|[()!~¬&|^∧∨⊕→↔]|[^\s()!~¬&|^∧∨⊕→↔]+")
UNARY = {"not", "!", "~", "¬"}
# binary operators, loosest first: (spellings, binds right to left)
BINARY = ((("<->", "↔", "iff", "==", "eq"), False), (("->", "=>", "→", "implies"), True),
          (("or", "||", "|", "∨", "+"), False), (("xor", "^", "⊕", "!="), False),
          (("and", "&&", "&", "∧", "*"), False))
_LEVEL = {op: (level, right) for level, (ops, right) in enumerate(BINARY) for op in ops}

Tree = list[tuple[str, int, int]]  # post-order (token, left, right); -1 = no child


def proposition_tokens(text: str) -> list[str]:
    return _PROPOSITION_TOKEN.findall(text)


def parse_proposition(tokens: list[str]) -> Tree:
    """Tokens -> nodes in post-order, the root last. Operators are matched case-blind;
    not binds tightest, then and, xor, or, implies, iff. Tokens that do not parse are
    chained left to right under an unknown "?" node, so every record keeps a tree."""
    nodes: Tree = []
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def unary() -> int:
        nonlocal pos
        token = peek()
        if token is None or token == ")" or token.lower() in _LEVEL:
            raise ValueError(f"expected an operand at token {pos}")
        pos += 1
        if token.lower() in UNARY:
            child = unary()
            nodes.append((token, child, -1))
        elif token == "(":
            inner = binary(0)
            if peek() != ")":
                raise ValueError(f"unclosed parenthesis at token {pos}")
            pos += 1
            return inner
        else:
            nodes.append((token, -1, -1))
        return len(nodes) - 1

    def binary(min_level: int) -> int:
        nonlocal pos
        left = unary()
        while (token := peek()) is not None and token.lower() in _LEVEL:
            level, right_assoc = _LEVEL[token.lower()]
            if level < min_level:
                break
            pos += 1
            right = binary(level if right_assoc else level + 1)
            nodes.append((token, left, right))
            left = len(nodes) - 1
        return left

    try:
        binary(0)
        if pos != len(tokens):
            raise ValueError(f"unexpected {tokens[pos]!r} at token {pos}")
        return nodes
    except ValueError:
        nodes, last = [], -1
        for token in tokens or ["?"]:
            nodes.append((token, -1, -1))
            if last >= 0:
                nodes.append(("?", last, len(nodes) - 1))
            last = len(nodes) - 1
        return nodes


def encode_tree(tree: Tree, index: dict[str, int], max_nodes: int) -> np.ndarray:
    """(max_nodes, 3) int32: token id (1 = unknown, 0 = padding node), left, right; the
    tree right-aligned (its root in the last row), a missing child = max_nodes."""
    tree = tree[-max_nodes:]
    shift = max_nodes - len(tree)
    out = np.full((max_nodes, 3), max_nodes, dtype=np.int32)
    out[:, 0] = 0
    for i, (token, left, right) in enumerate(tree):
        out[shift + i] = (index.get(token, 1), left + shift if left >= 0 else max_nodes,
                          right + shift if right >= 0 else max_nodes)
    return out
