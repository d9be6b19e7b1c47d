"""The run folder's JSON files: atomic replacement, missing files, torn JSONL lines."""
from __future__ import annotations

import json

from training_lib.runs.files import (append_jsonl, read_json, read_json_or_none, read_jsonl,
                                     write_json)


def test_write_json_replaces_the_file_whole_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "sub" / "evaluation.json"
    write_json(path, {"a": 1})
    write_json(path, {"b": [1, 2]})
    assert json.loads(path.read_text()) == {"b": [1, 2]}
    assert [p.name for p in path.parent.iterdir()] == ["evaluation.json"]


def test_read_json_gives_the_default_only_for_a_missing_file(tmp_path):
    assert read_json(tmp_path / "missing.json", {"x": 0}) == {"x": 0}
    (tmp_path / "bad.json").write_text("{")
    assert read_json_or_none(tmp_path / "bad.json") is None


def test_jsonl_skips_torn_and_foreign_lines(tmp_path):
    path = tmp_path / "metrics.jsonl"
    append_jsonl(path, {"step": 1})
    with open(path, "a") as fh:
        fh.write('[1, 2]\n{"step": 2, "lo')  # a list, then a line cut by a kill
    assert read_jsonl(path) == [{"step": 1}]
    assert read_jsonl(tmp_path / "missing.jsonl") == []
