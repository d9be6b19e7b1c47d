"""Knowledge artifacts survive a write/read round trip, dict inputs included."""
from __future__ import annotations

import numpy as np

from training_lib.collab import knowledge


def test_student_knowledge_round_trip(tmp_path):
    k = knowledge.StudentKnowledge(
        "multimodal_service", ["0", "1"],
        {"image": np.zeros((2, 4, 4, 3), np.uint8), "present": np.ones((2, 3), np.float32)},
        np.array(["a", "b"]), np.array([[0.9, 0.1], [0, 0]], np.float32),
        np.array([True, False]), np.array([[0.6, 0.4], [0.3, 0.7]], np.float32),
        np.array([2, 1], np.int32))
    knowledge.write_student(tmp_path, k)
    back = knowledge.read_student(tmp_path, "multimodal_service")
    assert back is not None and back.classes == ["0", "1"] and len(back) == 2
    assert set(back.x) == {"image", "present"} and back.x["image"].dtype == np.uint8
    np.testing.assert_array_equal(back.cotrain, k.cotrain)
    assert back.confident.tolist() == [True, False] and back.keys.tolist() == ["a", "b"]
    assert knowledge.read_student(tmp_path, "vision_service") is None
    assert not list(tmp_path.glob(".*.tmp"))


def test_shared_text_round_trip(tmp_path):
    table = np.arange(257 * 2, dtype=np.float32).reshape(257, 2)
    knowledge.write_shared_text(tmp_path, {2: table})
    np.testing.assert_array_equal(knowledge.read_shared_text(tmp_path)[2], table)
    assert knowledge.read_shared_text(tmp_path / "missing") == {}
