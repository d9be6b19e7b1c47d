"""Label alignment: by names, or by co-occurring predictions on paired items."""
from __future__ import annotations

import numpy as np

from training_lib.collab import labels

DIGITS = [str(d) for d in range(10)]
WORDS = ["eight", "five", "four", "nine", "one", "seven", "six", "three", "two", "zero"]
VALUE = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
         "seven": 7, "eight": 8, "nine": 9}


def _probs(index: np.ndarray, width: int, sharp: float = 0.9) -> np.ndarray:
    p = np.full((len(index), width), (1 - sharp) / (width - 1), np.float32)
    p[np.arange(len(index)), index] = sharp
    return p


def test_names_align_the_shared_classes_and_leave_the_rest_out():
    a = labels.by_names("vision", DIGITS + ["law", "food"], DIGITS)
    assert a is not None and a.method == "names" and len(a.mapping) == 10
    probs = np.zeros((1, 12), np.float32)
    probs[0, 3], probs[0, 10] = 0.6, 0.4  # 40% on a class the pairs do not have
    np.testing.assert_allclose(labels.to_shared(probs, a.matrix)[0, 3], 1.0)
    assert labels.by_names("audio", WORDS, DIGITS) is None


def test_predictions_recover_a_renaming_and_map_targets_back():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 10, 300)
    audio_index = np.array([WORDS.index(next(w for w, v in VALUE.items() if v == t))
                            for t in truth])
    noisy = np.where(rng.random(300) < 0.2, rng.integers(0, 10, 300), audio_index)  # 80% right
    out = labels.align_all({"vision": DIGITS, "audio": WORDS}, DIGITS,
                           {"vision": _probs(truth, 10), "audio": _probs(noisy, 10)},
                           {"vision": np.ones(300, bool), "audio": np.ones(300, bool)})
    audio = out["audio"]
    assert audio.method == "predictions" and audio.agreement > 0.7
    assert audio.mapping == {w: str(v) for w, v in VALUE.items()}
    shared = np.zeros((1, 10), np.float32)
    shared[0, 3] = 1.0  # "3" in the shared space is audio's "three"
    assert WORDS[int(labels.from_shared(shared, audio.matrix).argmax())] == "three"


def test_unrelated_predictions_and_other_class_counts_are_not_aligned():
    rng = np.random.default_rng(1)
    truth = rng.integers(0, 10, 300)
    unrelated = rng.integers(0, 10, 300)
    out = labels.align_all(
        {"vision": DIGITS, "noise": WORDS, "fortunes": ["law", "food", "love"]}, DIGITS,
        {"vision": _probs(truth, 10), "noise": _probs(unrelated, 10),
         "fortunes": _probs(truth % 3, 3)},
        {m: np.ones(300, bool) for m in ("vision", "noise", "fortunes")})
    assert not out["noise"].aligned and "needs 50%" in out["noise"].reason
    assert not out["fortunes"].aligned and "3 classes" in out["fortunes"].reason
