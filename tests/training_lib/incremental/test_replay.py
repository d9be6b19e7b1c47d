"""Which old rows a fine-tune replays: class-balanced for classification (a new category
is one class among equals, not half the rows), random otherwise."""
from __future__ import annotations

import numpy as np

from training_lib.data.dataset import Dataset
from training_lib.incremental.replay import replay_dataset, replay_per_class


def _dataset(labels: list[int], new_from: int, classes: list[str], y_float: bool = False) -> Dataset:
    """Train rows with these labels; rows from `new_from` on are new (keys new-*)."""
    n = len(labels)
    x = {"train": np.arange(n, dtype="float32")[:, None], "val": np.zeros((2, 1), "float32"),
         "test": np.zeros((3, 1), "float32")}
    y_train = np.asarray(labels, "float32" if y_float else "int32")
    y = {"train": y_train, "val": np.zeros(2, "int32"), "test": np.zeros(3, "int32")}
    keys = {"train": [f"old-{i}" if i < new_from else f"new-{i}" for i in range(n)],
            "val": ["v0", "v1"], "test": ["t0", "t1", "t2"]}
    return Dataset("m", x, y, classes, {}, [], keys)


def _old(data: Dataset) -> set[str]:
    return {k for k in data.keys["train"] if k.startswith("old-")}


def test_a_new_category_replays_as_many_rows_of_each_old_class_as_it_brings():
    labels = [0] * 40 + [1] * 40 + [2] * 10  # 80 old rows of a and b, 10 new rows of c
    data = _dataset(labels, new_from=80, classes=["a", "b", "c"])
    tuned, counts = replay_dataset(data, _old(data), ratio=1.0, seed=0)
    per_class = np.bincount(tuned.y["train"], minlength=3)
    assert per_class.tolist() == [10, 10, 10]  # random 1:1 replay: 10 old rows for 2 classes
    assert counts["replay"] == 20 and counts["new_train"] == 10 and counts["old_train"] == 80
    assert counts["replay_per_class"] == {"a": 10, "b": 10}
    assert {k for k in tuned.keys["train"] if k.startswith("new-")} == \
        {f"new-{i}" for i in range(80, 90)}  # every new row is kept
    half, _ = replay_dataset(data, _old(data), ratio=0.5, seed=0)
    assert np.bincount(half.y["train"], minlength=3).tolist() == [5, 5, 10]


def test_new_rows_of_every_class_replay_ratio_times_as_many_old_rows():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, size=40).tolist()
    labels[30:40] = [0, 1] * 5  # the 10 new rows cover both classes
    data = _dataset(labels, new_from=30, classes=["neg", "pos"])
    tuned, counts = replay_dataset(data, _old(data), ratio=1.5, seed=1)
    assert counts["replay"] == 15 and counts["new_train"] == 10  # as random replay would
    assert sorted(counts["replay_per_class"].values()) == [7, 8]
    assert tuned.size("test") == 3  # evaluation splits untouched
    again, _ = replay_dataset(data, _old(data), ratio=1.5, seed=1)
    assert again.keys["train"] == tuned.keys["train"]  # deterministic


def test_a_class_with_few_old_rows_replays_all_it_has():
    assert replay_per_class(np.asarray([0] * 3 + [1] * 50), np.asarray([2] * 20), 1.0) == \
        {0: 3, 1: 20}
    assert replay_per_class(np.asarray([0, 1]), np.asarray([2]), 0.0) == {0: 0, 1: 0}


def test_other_tasks_replay_ratio_times_as_many_old_rows_at_random():
    data = _dataset(list(np.linspace(0, 1, 40)), new_from=30, classes=[], y_float=True)
    data.classes = None
    tuned, counts = replay_dataset(data, _old(data), ratio=2.0, seed=0)
    assert counts == {"new_train": 10, "replay": 20, "old_train": 30}
    assert tuned.size("train") == 30
