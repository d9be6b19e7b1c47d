"""logic_model: a recursive (tree-structured) network over a proposition's parse tree.

The loader parses each proposition (operators, parentheses, precedence) into its nodes
in post-order; `TreeComposer` computes every node's vector from its token and its
children's, bottom up, and the root's vector is classified. The network learns what
"and", "not", "True" (in whatever spelling the data uses) mean, one rule per token at
every depth, which a token sequence model has to infer from ~1k examples (the BiGRU
it replaced scored 0.72 where n-gram random forests scored 0.86).
"""
from __future__ import annotations

import keras
from keras import layers

from training_lib.data.dataset import Dataset
from training_lib.models.blocks import TreeComposer
from training_lib.models.common import compile_classifier


def build(dataset: Dataset, learning_rate: float) -> keras.Model:
    nodes = keras.Input((dataset.info["max_nodes"], 3), dtype="int32", name="tree")
    x = TreeComposer(dataset.info["vocab_size"], 64, name="proposition_tree")(nodes)
    outputs = layers.Dense(len(dataset.classes), name="logits")(x)
    return compile_classifier(keras.Model(nodes, outputs, name="logic_model"), learning_rate)
