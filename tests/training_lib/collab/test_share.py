"""One round's sharing on tiny paired items: a student learns only from the *other*
models, only on items of its training split, only where they are confident."""
from __future__ import annotations

import itertools

import numpy as np

from training_lib.collab.pairs import PairItem
from training_lib.collab.share import Participant, Views, compute_knowledge
from training_lib.config.schema import Collaboration, PresetModel
from training_lib.data.records import FileRecord, split_of

SETTINGS = PresetModel(description="x", target_models=("vision_service",), epochs=1,
                       enable_collaborative_training=True, rounds=2,
                       collaboration=Collaboration(strategies=("cotraining", "distillation"),
                                                   confidence_threshold=0.8, temperature=2.0))


class Fixed:
    """A stand-in network: fixed logits per item, found by the item's first image pixel."""

    def __init__(self, logits: np.ndarray, shape: tuple[int, ...]) -> None:
        self.logits = logits
        self.inputs = [type("Input", (), {"shape": (None, *shape)})()]

    def number(self, x) -> np.ndarray:
        first = x["image"] if isinstance(x, dict) else x
        return first.reshape(len(first), -1)[:, 0].astype(int)

    def __call__(self, x, training=False):
        return self.logits[self.number(x)]


class ByAudio(Fixed):
    """Finds the item by its audio array, whose values are the item's number."""

    def number(self, x) -> np.ndarray:
        return x.reshape(len(x), -1)[:, 0].astype(int)


def _hashes(split: str, n: int) -> list[str]:
    found = (f"{i:064x}" for i in itertools.count())
    return list(itertools.islice((h for h in found if split_of(h) == split), n))


def _items() -> tuple[list[PairItem], Views]:
    train, test = _hashes("train", 6), _hashes("test", 2)
    items = []
    for i, (h, h_audio) in enumerate(zip([*train[:3], test[0]], [*train[3:], test[1]])):
        rec = FileRecord(f"images/x{i}.png", 1, 0, h, "image", "png")
        audio = FileRecord(f"audio/x{i}.wav", 1, 0, h_audio, "audio", "wav")
        items.append(PairItem(f"pair{i}", str(i % 2), {"image": rec, "audio": audio, "text": None}))
    image = np.arange(4, dtype=np.uint8).reshape(4, 1, 1, 1) * np.ones((4, 2, 2, 3), np.uint8)
    audio = np.arange(4, dtype=np.float32).reshape(4, 1, 1) * np.ones((4, 3, 2), np.float32)
    present = {"image": np.ones(4, bool), "audio": np.array([True, True, False, True]),
               "text": np.zeros(4, bool)}
    return items, Views(items, {"image": image, "audio": audio, "text": None}, present)


def test_targets_come_from_the_other_views_on_training_items_and_respect_the_threshold():
    items, views = _items()
    # audio's logits per item (indexed by the item's number): sure of 0, sure of 1, -, sure
    audio_logits = np.array([[6.0, 0.0], [0.0, 6.0], [0.0, 0.0], [6.0, 0.0]], np.float32)
    vision_logits = np.array([[0.0, 0.5], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]], np.float32)
    vision = Participant("vision", Fixed(vision_logits, (2, 2, 3)), ["0", "1"], "image", 3)
    audio = Participant("audio", ByAudio(audio_logits, (3, 2)), ["0", "1"], "audio", 3)
    result = compute_knowledge([vision, audio], views, SETTINGS)
    k = result.students["vision"]
    # items 0-2 are in vision's training split; item 3 (test) never becomes a target
    assert k.keys.tolist() == [items[0].files["image"].content_hash,
                               items[1].files["image"].content_hash]  # item 2: no audio
    expected = np.exp(6) / (np.exp(6) + 1)
    np.testing.assert_allclose(k.cotrain[0], [expected, 1 - expected], rtol=1e-5)
    assert k.confident.tolist() == [True, True] and k.teachers.tolist() == [1, 1]
    soft = np.exp(3) / (np.exp(3) + 1)  # temperature 2
    np.testing.assert_allclose(k.distill[1], [1 - soft, soft], rtol=1e-5)
    np.testing.assert_array_equal(k.x[0], views.features["image"][0])
    # vision is unsure of everything (top probability < 0.8): audio gets KL targets only
    a = result.students["audio"]
    assert not a.confident.any() and a.distill.any()
    assert result.summary["students"]["audio"]["teachers"] == {"vision": 2}


def test_a_lone_model_has_no_peer_to_learn_from():
    _, views = _items()
    vision = Participant("vision", Fixed(np.zeros((4, 2), np.float32), (2, 2, 3)), ["0", "1"],
                         "image", 3)
    result = compute_knowledge([vision], views, SETTINGS)
    assert result.students == {}
    assert result.summary["students"]["vision"]["reason"] == "no aligned peer to learn from"


class FixedPair(Fixed):
    """A stand-in multimodal network with the real input names."""

    def __init__(self, logits: np.ndarray) -> None:
        self.logits = logits
        self.inputs = [type("Input", (), {"name": n, "shape": (None, *s)})()
                       for n, s in (("image", (2, 2, 3)), ("audio", (3, 2)), ("text", (5,)),
                                    ("present", (3,)))]


def test_the_multimodal_model_is_teacher_and_student_of_whole_items():
    items, views = _items()
    sure = np.array([[0.0, 6.0]] * 4, np.float32)
    multi = Participant("multimodal", FixedPair(sure), ["0", "1"], "pair", 3)
    vision = Participant("vision", Fixed(np.array([[6.0, 0.0]] * 4, np.float32), (2, 2, 3)),
                         ["0", "1"], "image", 3)
    result = compute_knowledge([multi, vision], views, SETTINGS)
    assert result.students["vision"].cotrain[:, 1].min() > 0.99  # taught by the pair model
    m = result.students["multimodal"]
    train = [i for i, item in enumerate(items) if split_of(item.key) == "train"]
    assert train
    assert m.keys.tolist() == [items[i].key for i in train]
    assert set(m.x) == {"image", "audio", "text", "present"}
    assert m.x["text"].shape == (len(train), 5) and not m.x["text"].any()  # no captions
    assert m.x["present"][:, 2].tolist() == [0.0] * len(train)
    np.testing.assert_array_equal(m.x["present"][:, 1], views.present["audio"][train])
    assert m.cotrain[:, 0].min() > 0.99  # taught by vision
