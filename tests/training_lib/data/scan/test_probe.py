"""probe_file on giant and wide files: a file over its type's size cap is flagged
`too_large` (score 0, kept out of training), and what is stored about a file is bounded."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from training_lib.data.loaders.json_records import MAX_JSON_BYTES
from training_lib.data.quality.limits import QualityLimits
from training_lib.data.quality.scores import score_of
from training_lib.data.scan.meta_bounds import MAX_ITEMS, MAX_META_BYTES
from training_lib.data.scan.probe import probe_file

RECORD = b'{"problem": "1+1", "answer": "2"}'


def _sparse(path: Path, size: int, head: bytes, tail: bytes) -> Path:
    """A file of `size` bytes with real text at both ends and a hole (no disk) between."""
    with open(path, "wb") as fh:
        fh.write(head)
        fh.truncate(size)
        fh.seek(size - len(tail))
        fh.write(tail)
    return path


@pytest.mark.parametrize(("name", "size", "head", "tail", "type_"), [
    ("big.json", 600 << 20, b"[" + (RECORD + b",") * 2000, (RECORD + b",") * 2000 + b"]", "json"),
    ("big.csv", 300 << 20, b"a,b,target\n" + b"1,2,0\n" * 12000, b"1,2,0\n" * 12000, "tabular"),
])
def test_a_file_over_the_read_limit_is_too_large_not_fine(tmp_path, name, size, head, tail,
                                                           type_):
    path = _sparse(tmp_path / name, size, head, tail)
    result = probe_file(str(path), name, QualityLimits())
    assert (result["type"], result["size"]) == (type_, size)
    assert result["flags"] == ["too_large"]
    assert result["meta"]["size_cap"] == MAX_JSON_BYTES
    assert "verified" not in result["meta"]
    assert score_of(result["flags"]) == 0.0


def test_json_and_tables_are_capped_at_what_the_loaders_read(tmp_path):
    assert QualityLimits().size_cap("json") == QualityLimits().size_cap("tabular") == MAX_JSON_BYTES
    assert QualityLimits().size_cap("image") == QualityLimits().max_read_bytes
    limits = QualityLimits(max_record_bytes=64 << 10)
    small = tmp_path / "small.jsonl"
    small.write_bytes((RECORD + b"\n") * 100)
    assert probe_file(str(small), "small.jsonl", limits)["flags"] == []
    big = tmp_path / "big.jsonl"
    big.write_bytes((RECORD + b"\n") * 3000)  # 100 KB, read whole, over the JSON cap
    result = probe_file(str(big), "big.jsonl", limits)
    assert (result["type"], result["flags"]) == ("json", ["too_large"])
    assert "n_records" not in result["meta"]  # not decoded


def test_a_wide_csv_header_keeps_its_first_columns_and_its_count(tmp_path):
    n_columns = 200_000
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"col{i}" for i in range(n_columns)) + "\n"
                    + ",".join("1" for _ in range(n_columns)) + "\n")
    result = probe_file(str(path), "wide.csv", QualityLimits())
    meta = result["meta"]
    assert result["type"] == "tabular" and result["flags"] == []
    assert meta["columns"] == [f"col{i}" for i in range(MAX_ITEMS)]
    assert meta["n_columns"] == n_columns
    assert meta["truncated_keys"] == ["columns"]
    assert len(json.dumps(meta)) <= MAX_META_BYTES
