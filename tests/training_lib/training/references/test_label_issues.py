"""Planted label errors are found: 5% of the training labels of handwritten digits
swapped to another digit, cleanlab on the reference's out-of-sample probabilities."""
from __future__ import annotations

import numpy as np

from training_lib.data.dataset import Dataset
from training_lib.training.references.label_issues import find_label_issues

N_TRAIN = 1300


def _digits_with_swapped_labels(share: float = 0.05, seed: int = 0):
    """The sklearn digits as 32x32 RGB images (as the image loader gives them), with
    `share` of the training labels changed to another digit; (dataset, swapped rows)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images / 16 * 255).astype(np.uint8)
    images = np.repeat(np.repeat(images, 4, axis=1), 4, axis=2)[..., None].repeat(3, axis=-1)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(images))
    images, labels = images[order], digits.target[order]
    given = labels[:N_TRAIN].copy()
    swapped = rng.choice(N_TRAIN, int(share * N_TRAIN), replace=False)
    given[swapped] = (given[swapped] + rng.integers(1, 10, len(swapped))) % 10
    keys = [f"hash{i:04d}" for i in range(N_TRAIN)]
    dataset = Dataset("digits", {"train": images[:N_TRAIN], "test": images[N_TRAIN:]},
                      {"train": given, "test": labels[N_TRAIN:]}, [str(c) for c in range(10)],
                      {"image_size": 32, "channels": 3}, [], {"train": keys})
    return dataset, set(swapped.tolist()), labels[:N_TRAIN]


def test_swapped_labels_are_found_with_precision_and_recall_of_at_least_half():
    dataset, swapped, true_labels = _digits_with_swapped_labels()
    paths = {f"hash{i:04d}": [f"images/{i:04d}.png"] for i in range(N_TRAIN)}
    found = find_label_issues("images", dataset, "classification", paths=paths)
    flagged = {issue["row"] for issue in found["issues"]}
    hits = len(flagged & swapped)
    precision, recall = hits / len(flagged), hits / len(swapped)
    print(f"planted {len(swapped)}, flagged {len(flagged)}: precision {precision:.3f}, "
          f"recall {recall:.3f}")
    assert precision >= 0.5 and recall >= 0.5
    assert found["n_flagged"] == len(flagged) and found["n_train"] == N_TRAIN
    for issue in found["issues"]:  # each names its file, its given label and a suggestion
        row = issue["row"]
        assert issue["files"] == [f"images/{row:04d}.png"]
        assert issue["given"] == str(dataset.y["train"][row]) != issue["suggested"]
        assert 0 < issue["confidence"] <= 1
    # a flagged swap's suggestion is mostly the digit it really shows
    right = [str(true_labels[i["row"]]) == i["suggested"] for i in found["issues"]
             if i["row"] in swapped]
    assert np.mean(right) >= 0.8


def test_clean_labels_flag_few_and_regression_is_not_searched():
    dataset, _, true_labels = _digits_with_swapped_labels(share=0.0)
    found = find_label_issues("images", dataset, "classification")
    assert found["n_flagged"] <= 0.02 * N_TRAIN
    assert find_label_issues("environment", dataset, "regression") is None
    assert find_label_issues("no_such_loader", dataset, "classification") is None
