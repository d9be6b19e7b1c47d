"""Record-format detection: canonical keys first, then the synonyms of config.record_fields."""
from __future__ import annotations

import pytest

from training_lib.data.records import record_format


@pytest.mark.parametrize(("record", "fmt"), [
    ({"problem": "12+7", "answer": "19"}, "arithmetic"),
    ({"question": "727 + 681", "result": 1408}, "arithmetic"),
    ({"expr": "3 * 4", "output": "12"}, "arithmetic"),
    ({"expr": "True and not False", "result": True}, "proposition"),  # no digit: not a sum
    ({"statement": "p or not p", "truth": True}, "proposition"),
    ({"proposition": "True", "answer": True}, "proposition"),
    ({"before": [0.1, 0.2], "act": 1, "next_state": [0.2, 0.1]}, "environment"),
    ({"situation": [1, 2], "policy": "up"}, "strategy"),
    ({"embedding": [0.1, 0.2]}, "features"),
    ({"image": "a.png", "audio": "a.wav", "text": "a.txt", "label": "7"}, "pairs"),
    ({"picture": "a.png", "caption": "a seven", "digit": 7}, "pairs"),
    ({"image": "a.png", "label": "7"}, None),  # one modality is no pair
    ({"caption": "a seven", "digit": 7}, None),
    ({"name": "x"}, None),
    (["problem", "answer"], None),
])
def test_formats_are_found_under_canonical_and_synonym_keys(record, fmt):
    assert record_format(record) == fmt


def test_canonical_keys_of_one_format_beat_synonyms_of_an_earlier_one():
    # "question"/"result" would make arithmetic, but the canonical pairs keys come first
    record = {"image": "a.png", "text": "a.txt", "question": "1+1", "result": "2"}
    assert record_format(record) == "pairs"
