"""JSON records in the user's field names: mapping, bad JSONL lines, the no-match error."""
from __future__ import annotations

import json
import logging

import pytest

from tests.fixtures.loader_files import record, request, write
from training_lib.data.loaders.json_records import iter_records, read_records
from training_lib.data.loaders.registry import load_dataset
from training_lib.errors import DataError, NoDataForModel


def _problems(n: int, problem_key: str = "problem", answer_key: str = "answer") -> list[dict]:
    return [{problem_key: f"{i}+{i % 7}", answer_key: str(i + i % 7)} for i in range(n)]


def _jsonl(root, rel, lines: list[str], fmt: str | None = "arithmetic"):
    write(root, rel, "\n".join(lines) + "\n")
    meta = {"record_format": fmt} if fmt else {}
    return record(root, rel, "json", "jsonl", None, **meta)


def test_a_bad_jsonl_line_is_reported_by_number_and_the_other_lines_kept(tmp_path, caplog):
    root = tmp_path / "data"
    lines = [json.dumps(r) for r in _problems(80)]
    lines.insert(3, '{"problem": "1+1", "answer": ')  # line 4: cut off
    lines.insert(50, "not json at all")  # line 51
    rec = _jsonl(root, "math/sums.jsonl", lines)
    bad: list[int] = []
    with caplog.at_level(logging.WARNING):
        items = list(iter_records(root / rec.path, bad))
    assert len(items) == 80 and bad == [4, 51]
    assert "sums.jsonl: line 4 is not JSON" in caplog.text
    data = load_dataset("arithmetic", request("math_model", root, [rec], tmp_path / "cache"))
    assert sum(data.size(s) for s in ("train", "val", "test")) == 80
    assert data.info["bad_lines"] == {"math/sums.jsonl": [4, 51]}


def test_a_broken_json_list_names_its_line(tmp_path):
    root = tmp_path / "data"
    write(root, "x.json", '[{"problem": "1+1", "answer": "2"},\n {"problem": }]')
    with pytest.raises(DataError, match=r"x.json: not JSON \(line 2: "):
        list(iter_records(root / "x.json"))


def test_explicit_fields_win_over_synonyms_and_the_mapping_is_recorded(tmp_path, caplog):
    root = tmp_path / "data"
    # "question" is a synonym of problem, but the preset says the problem is under "q"
    items = [{"q": f"{i}*2", "question": "ignored", "solution": str(i * 2)} for i in range(60)]
    rec = _jsonl(root, "m.jsonl", [json.dumps(r) for r in items])
    req = request("math_model", root, [rec], tmp_path / "cache",
                  models={"math_model": {"fields": {"problem": "q"}}})
    with caplog.at_level(logging.INFO):
        found = read_records(req, "arithmetic")
    assert found.fields() == {"problem": "q", "answer": "solution"}
    assert {r["problem"] for _, r in found.items} == {f"{i}*2" for i in range(60)}
    assert "fields {'problem': 'q', 'answer': 'solution'}" in caplog.text
    data = load_dataset("arithmetic", req)
    assert data.info["fields"] == {"problem": "q", "answer": "solution"}


def test_no_matching_record_names_file_keys_expected_and_the_fields_line(tmp_path):
    root = tmp_path / "data"
    items = [{"sum_text": f"{i}+1", "total": str(i + 1)} for i in range(60)]
    rec = _jsonl(root, "math/mine.jsonl", [json.dumps(r) for r in items], fmt=None)
    with pytest.raises(NoDataForModel) as info:
        load_dataset("arithmetic", request("math_model", root, [rec], tmp_path / "cache"))
    assert str(info.value) == (
        "math_model: no {problem, answer} records (needs problem, answer) in 1 JSON file(s):\n"
        "  math/mine.jsonl: keys found: sum_text, total; expected: problem (as problem or "
        "question or expression or expr or equation or input); answer (as answer or result or "
        "solution or output or target); missing: problem, answer\n"
        "  to read them, add to the preset: models: {math_model: {fields: {problem: <one of "
        "sum_text, total>, answer: <one of sum_text, total>}}}")
    # ... and the line it suggests reads them
    req = request("math_model", root, [rec], tmp_path / "cache",
                  models={"math_model": {"fields": {"problem": "sum_text", "answer": "total"}}})
    assert sum(load_dataset("arithmetic", req).size(s) for s in ("train", "val", "test")) == 60


def test_no_json_file_at_all_says_so(tmp_path):
    root = tmp_path / "data"
    with pytest.raises(NoDataForModel, match=r"none of its files is a JSON file of arithmetic "
                       r"records .*fields: \{problem: <key>"):
        load_dataset("arithmetic", request("math_model", root, [], tmp_path / "cache"))


def test_fields_of_a_group_reach_its_members(tmp_path):
    root = tmp_path / "data"
    items = [{"s0": [i / 40], "a": i % 2, "s1": [i / 40 + 0.1 * (i % 2)]} for i in range(40)]
    rec = _jsonl(root, "env.jsonl", [json.dumps(r) for r in items], fmt=None)
    fields = {"state_before": "s0", "action": "a", "state_after": "s1"}
    req = request("environment_simulator", root, [rec], tmp_path / "cache",
                  models={"concept_models": {"fields": fields}})
    assert read_records(req, "environment").fields() == fields
