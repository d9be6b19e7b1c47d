"""Encoders and layers several builders share (Keras 3 APIs only: TensorFlow and JAX).

- `byte_encoder`: text as UTF-8 byte ids (0 = padding) through parallel 1-D convolutions
  of widths 3, 5 and 7 and a global max: learned character n-gram detectors;
- `ngram_bag_encoder` (`HashedByteNgrams`): fastText's bag of hashed character n-grams,
  embedded and averaged, from the same byte ids;
- `TreeComposer`: a tree-structured recursive encoder over parsed expressions (nodes in
  post-order, each combining its token with its children's vectors);
- `spectrogram_encoder`: a log-mel spectrogram (mels, frames) as a sequence of frames
  through 1-D convolutions over time;
- `image_encoder`: uint8 pixels through a small CNN pooled to a 4x4 grid;
- `standardize` / `destandardize`: fixed affine layers from training-split statistics
  the loader computed, so a saved model takes and returns raw values;
- `ModalityDropout`: hides whole modalities at random while training so a fusion
  model also learns to predict from what is left.
"""
from __future__ import annotations

from typing import Any, Sequence

import keras
import numpy as np
from keras import layers

BYTE_VOCAB = 257  # UTF-8 byte + 1, 0 = padding
_WORD_MODULUS = 40_009  # a prime under sqrt(2**31): (modulus - 1)**2 + modulus fits int32


def byte_encoder(ids: Any, name: str, width: int = 96, embed: int = 32) -> Any:
    x = layers.Embedding(BYTE_VOCAB, embed, name=f"{name}_bytes")(ids)
    pooled = []
    for k in (3, 5, 7):
        c = layers.Conv1D(width, k, padding="same", activation="relu", name=f"{name}_conv{k}")(x)
        pooled.append(layers.GlobalMaxPooling1D(name=f"{name}_max{k}")(c))
    return layers.Concatenate(name=f"{name}_ngrams")(pooled)


@keras.saving.register_keras_serializable(package="training_lib")
class HashedByteNgrams(layers.Layer):
    """Byte ids (batch, length), 0 = padding -> hashed n-gram ids (batch, positions), 0 = none.

    Every n-gram of `orders` bytes (and, when `words` is true, every whole word: a run of
    letters, digits, "_" or non-ASCII bytes, case-folded) is hashed into `buckets` - 1 ids,
    a polynomial hash of its bytes modulo a prime, seeded by its order. Integer
    `keras.ops` only, so it runs on TensorFlow and JAX and the saved model takes raw bytes.
    """

    def __init__(self, orders: Sequence[int] = (1, 2, 3, 4, 5), buckets: int = 50_021,
                 words: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if buckets * 300 >= 2**31:
            raise ValueError(f"buckets: got {buckets}; expected under {2**31 // 300} (int32 hash)")
        self.orders = tuple(int(n) for n in orders)
        self.buckets = int(buckets)
        self.words = bool(words)

    def call(self, ids: Any) -> Any:
        ops = keras.ops
        ids = ops.cast(ids, "int32")
        length = ids.shape[1]
        prime = self.buckets - 1
        out = []
        for n in self.orders:
            if n > length:
                continue
            h = ops.full(ops.shape(ids[:, n - 1:]), n, dtype="int32")
            valid = ops.ones_like(h, dtype="bool")
            for j in range(n):
                part = ids[:, j:length - n + 1 + j]
                h = (h * 257 + part) % prime
                valid = ops.logical_and(valid, part > 0)
            out.append(ops.where(valid, h + 1, 0))
        if self.words:
            out.append(self._word_ids(ids, prime))
        return ops.concatenate(out, axis=1)

    def _word_ids(self, ids: Any, prime: int) -> Any:
        """The hash of each whole word, at the word's last byte (0 elsewhere)."""
        ops = keras.ops
        byte = ids - 1
        lower = ops.where(ops.logical_and(byte >= 65, byte <= 90), byte + 32, byte)
        in_word = ops.logical_or(ops.logical_or(ops.logical_and(lower >= 97, lower <= 122),
                                                ops.logical_and(byte >= 48, byte <= 57)),
                                 ops.logical_or(byte == 95, byte >= 128))
        # h_t = 257 h_{t-1} + byte_t inside a word, 0 outside: a linear recurrence, run as a
        # parallel prefix scan of (multiplier, offset) pairs in log2(length) steps; the
        # modulus keeps every product inside int32
        a = ops.where(in_word, 257, 0)
        h = ops.where(in_word, lower + 1, 0)
        shift = 1
        while shift < ids.shape[1]:
            a_prev = ops.pad(a[:, :-shift], ((0, 0), (shift, 0)), constant_values=1)
            h_prev = ops.pad(h[:, :-shift], ((0, 0), (shift, 0)), constant_values=0)
            h = (a * h_prev + h) % _WORD_MODULUS
            a = (a * a_prev) % _WORD_MODULUS
            shift *= 2
        ends = ops.logical_and(in_word, ops.logical_not(ops.concatenate(
            [in_word[:, 1:], ops.zeros_like(in_word[:, :1])], axis=1)))
        return ops.where(ends, (h * 31 + 7) % prime + 1, 0)

    def compute_output_shape(self, input_shape: Any) -> Any:
        length = input_shape[1]
        positions = sum(length - n + 1 for n in self.orders if n <= length)
        return (input_shape[0], positions + (length if self.words else 0))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "orders": list(self.orders), "buckets": self.buckets,
                "words": self.words}


@keras.saving.register_keras_serializable(package="training_lib")
class MaskedMean(layers.Layer):
    """[vectors (batch, n, d), ids (batch, n)] -> mean of the vectors whose id is not 0."""

    def call(self, inputs: Any) -> Any:
        vectors, ids = inputs
        mask = keras.ops.cast(keras.ops.expand_dims(ids > 0, -1), vectors.dtype)
        total = keras.ops.sum(vectors * mask, axis=1)
        return total / keras.ops.maximum(keras.ops.sum(mask, axis=1), 1.0)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return (input_shape[0][0], input_shape[0][2])


def ngram_bag_encoder(ids: Any, name: str, dim: int = 64, buckets: int = 50_021,
                      orders: Sequence[int] = (1, 2, 3, 4, 5), words: bool = True) -> Any:
    """fastText over bytes: the average embedding of a text's hashed n-grams and words."""
    grams = HashedByteNgrams(orders, buckets, words, name=f"{name}_ngram_ids")(ids)
    vectors = layers.Embedding(buckets, dim, name=f"{name}_ngram_embedding")(grams)
    return MaskedMean(name=f"{name}_mean")([vectors, grams])


@keras.saving.register_keras_serializable(package="training_lib")
class TreeComposer(layers.Layer):
    """Parse trees (batch, nodes, 3) -> the root's vector (batch, dim): a recursive network.

    Rows are nodes in post-order, `(token id, left child, right child)`, right-aligned so
    the root is the last row; a missing child is index `nodes` (an all-zero vector). Each
    node's vector is an MLP of its token's embedding and its children's vectors, so one
    learned rule per operator applies at any depth. The loop over nodes is unrolled
    (`keras.ops` only: TensorFlow and JAX).
    """

    def __init__(self, vocab_size: int, dim: int = 64, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.vocab_size = int(vocab_size)
        self.dim = int(dim)
        self.embedding = layers.Embedding(self.vocab_size, self.dim, name="token_embedding")
        self.hidden = layers.Dense(2 * self.dim, activation="relu", name="compose_hidden")
        self.compose = layers.Dense(self.dim, activation="tanh", name="compose")

    def build(self, input_shape: Any) -> None:
        self.embedding.build((None, input_shape[1]))
        self.hidden.build((None, 3 * self.dim))
        self.compose.build((None, 2 * self.dim))

    def call(self, nodes: Any) -> Any:
        ops = keras.ops
        nodes = ops.cast(nodes, "int32")
        n = nodes.shape[1]
        tokens = self.embedding(nodes[:, :, 0])
        state = ops.zeros_like(ops.concatenate([tokens, tokens[:, :1]], axis=1))  # + zero slot
        for i in range(n):
            left = ops.einsum("bn,bnd->bd", ops.one_hot(nodes[:, i, 1], n + 1, dtype=state.dtype),
                              state)
            right = ops.einsum("bn,bnd->bd", ops.one_hot(nodes[:, i, 2], n + 1, dtype=state.dtype),
                               state)
            h = self.compose(self.hidden(ops.concatenate([tokens[:, i], left, right], axis=-1)))
            slot = np.zeros((1, n + 1, 1), dtype="float32")
            slot[0, i, 0] = 1.0
            state = state + ops.cast(slot, state.dtype) * ops.expand_dims(h, 1)
        return state[:, n - 1]

    def compute_output_shape(self, input_shape: Any) -> Any:
        return (input_shape[0], self.dim)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "vocab_size": self.vocab_size, "dim": self.dim}


def spectrogram_encoder(mel: Any, name: str, stats: tuple[np.ndarray, np.ndarray],
                        width: int = 64) -> Any:
    """(mels, frames) -> a vector; `stats` are per-mel mean and std of the training clips."""
    x = layers.Permute((2, 1), name=f"{name}_frames")(mel)  # (frames, mels)
    x = standardize(x, stats[0], stats[1], f"{name}_standardize")
    for i, filters in enumerate((width, 2 * width)):
        x = layers.Conv1D(filters, 5, padding="same", name=f"{name}_conv{i}")(x)
        x = layers.BatchNormalization(name=f"{name}_bn{i}")(x)
        x = layers.Activation("relu")(x)
        x = layers.MaxPooling1D(2, padding="same")(x)
    x = layers.Conv1D(2 * width, 3, padding="same", activation="relu", name=f"{name}_conv2")(x)
    return layers.Concatenate(name=f"{name}_pool")([layers.GlobalMaxPooling1D()(x),
                                                     layers.GlobalAveragePooling1D()(x)])


def mel_statistics(spectrograms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-mel mean and std over clips and frames of (n, mels, frames) training data."""
    if len(spectrograms) == 0:
        return np.zeros(spectrograms.shape[1]), np.ones(spectrograms.shape[1])
    mean = spectrograms.mean(axis=(0, 2))
    std = spectrograms.std(axis=(0, 2))
    return mean, np.where(std > 1e-6, std, 1.0)


def image_encoder(pixels: Any, name: str, filters: Sequence[int] = (32, 64)) -> Any:
    x = layers.Rescaling(1.0 / 255, name=f"{name}_rescale")(pixels)
    for i, f in enumerate(filters):
        x = layers.Conv2D(f, 3, padding="same", activation="relu", name=f"{name}_conv{i}")(x)
        x = layers.MaxPooling2D(name=f"{name}_pool{i}")(x)
    x = layers.AdaptiveMaxPooling2D((4, 4), name=f"{name}_grid")(x)
    return layers.Flatten(name=f"{name}_flatten")(x)


def standardize(x: Any, mean: Any, std: Any, name: str) -> Any:
    variance = np.square(np.asarray(std, dtype="float32"))
    return layers.Normalization(mean=np.asarray(mean, dtype="float32"), variance=variance,
                                name=name)(x)


def destandardize(x: Any, mean: Any, std: Any, name: str) -> Any:
    variance = np.square(np.asarray(std, dtype="float32"))
    return layers.Normalization(mean=np.asarray(mean, dtype="float32"), variance=variance,
                                invert=True, name=name)(x)


def compile_regressor(model: keras.Model, learning_rate: float) -> keras.Model:
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse",
                  metrics=[keras.metrics.MeanAbsoluteError(name="mae")])
    return model


@keras.saving.register_keras_serializable(package="training_lib")
class ModalityDropout(layers.Layer):
    """Zero each present modality's flag with probability `rate` in training.

    Input and output: presence flags (batch, n_modalities) in {0, 1}. A sample never
    loses all of its present modalities: if every one was dropped, it keeps them all.
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rate = rate
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, present: Any, training: bool | None = None) -> Any:
        if not training or self.rate <= 0:
            return present
        noise = keras.random.uniform(keras.ops.shape(present), seed=self.seed_generator)
        kept = present * keras.ops.cast(noise >= self.rate, present.dtype)
        empty = keras.ops.cast(keras.ops.sum(kept, axis=-1, keepdims=True) == 0, present.dtype)
        return kept + empty * present

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


@keras.saving.register_keras_serializable(package="training_lib")
class Gate(layers.Layer):
    """[vectors (batch, d), flags (batch, k)] -> vectors * flags[:, index]."""

    def __init__(self, index: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.index = index

    def call(self, inputs: Any) -> Any:
        vectors, flags = inputs
        return vectors * flags[:, self.index:self.index + 1]

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape[0]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "index": self.index}
