"""Arithmetic and proposition records: synonyms, one spelling of a problem, the vocabulary."""
from __future__ import annotations

import json

import pytest

from tests.fixtures.loader_files import record, request, write
from training_lib.data.loaders.registry import load_dataset
from training_lib.data.loaders.sequences import CharVocab, decode_answer, normalise_problem


@pytest.mark.parametrize(("raw", "expected"), [
    ("727 + 681", "727+681"), ("727+681", "727+681"), ("12 * 3", "12*3"), ("12*3", "12*3"),
    ("12 x 3", "12*3"), ("12×3", "12*3"), ("( 3 + 4 ) * 2", "(3+4)*2"), ("9 − 4", "9-4"),
    ("8 ÷ 2", "8/2"), ("5 + 6 =", "5+6"), ("5 + 6 = ?", "5+6"), ("  1 +  -2 ", "1+-2"),
])
def test_a_problem_has_one_spelling(raw, expected):
    assert normalise_problem(raw) == expected


def _arithmetic_file(root, rel, items):
    write(root, rel, "\n".join(json.dumps(r) for r in items) + "\n")
    return record(root, rel, "json", "jsonl", None, record_format="arithmetic")


def test_spaced_and_unspaced_problems_are_one_sample_and_the_vocab_has_no_space(tmp_path):
    root = tmp_path / "data"
    unspaced = [{"problem": f"{a}+{a % 9}", "answer": str(a + a % 9)} for a in range(60)]
    spaced = [{"problem": f"{a} + {a % 9}", "answer": a + a % 9} for a in range(60)]  # int answer
    timed = [{"problem": f"{a} x 3", "answer": float(3 * a)} for a in range(10, 30)]
    records = [_arithmetic_file(root, "a.jsonl", unspaced),
               _arithmetic_file(root, "b.jsonl", spaced + timed)]
    data = load_dataset("arithmetic", request("math_model", root, records, tmp_path / "cache"))
    assert sum(data.size(s) for s in ("train", "val", "test")) == 80  # 60 shared + 20 products
    assert " " not in data.info["vocab"] and "x" not in data.info["vocab"]
    assert set(data.info["vocab"]) == set("0123456789+*")
    problems = {CharVocab(data.info["vocab"]).decode(row) for s in ("train", "val", "test")
                for row in data.x[s]}
    assert "10*3" in problems and "5+5" in problems
    answers = {decode_answer(row, data.info) for s in ("train", "val", "test") for row in data.y[s]}
    assert "30" in answers and "30.0" not in answers


def test_synonym_keys_are_read_without_fields_and_the_mapping_is_recorded(tmp_path):
    root = tmp_path / "data"
    math = [{"question": f"{a} - {a % 5}", "result": str(a - a % 5)} for a in range(60)]
    logic = [{"statement": ["True and False", "not False", "True or False", "not True"][i % 4]
              + " and True" * (i % 5) + " or False" * (i // 5 % 3), "truth": None}
             for i in range(60)]
    for item in logic:
        item["truth"] = eval(item["statement"])  # the tiny grammar above is Python's
    records = [_arithmetic_file(root, "m.jsonl", math)]
    write(root, "l.json", json.dumps(logic))
    records.append(record(root, "l.json", "json", "json", None, record_format="proposition"))
    m = load_dataset("arithmetic", request("math_model", root, records, tmp_path / "cache"))
    assert m.info["fields"] == {"problem": "question", "answer": "result"}
    assert sum(m.size(s) for s in ("train", "val", "test")) == 60
    lg = load_dataset("propositions", request("logic_model", root, records, tmp_path / "cache"))
    assert lg.info["fields"] == {"proposition": "statement", "answer": "truth"}
    assert lg.classes == ["false", "true"]
