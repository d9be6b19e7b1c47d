"""Splits above the streaming threshold stay on disk as `CachedRows`; below it they are
read into one array; both hold the same rows."""
from __future__ import annotations

import numpy as np
import pytest

from training_lib.data.dataset import take_rows
from training_lib.data.rows import CacheEntry, CachedRows, is_streamed, stack_entries
from training_lib.errors import DataError


def _entries(tmp_path, n: int = 10, shape=(4, 4, 3)) -> tuple[list[CacheEntry], np.ndarray]:
    rng = np.random.default_rng(1)
    rows = rng.integers(0, 255, size=(n, *shape), dtype=np.uint8)
    entries = []
    for i, row in enumerate(rows):
        np.save(tmp_path / f"{i}.npy", row)
        entries.append(CacheEntry(tmp_path / f"{i}.npy"))
    return entries, rows


def test_small_split_is_read_into_memory(tmp_path, monkeypatch):
    monkeypatch.delenv("TLIB_STREAM_ABOVE_MB", raising=False)
    entries, rows = _entries(tmp_path)
    stacked = stack_entries(entries)
    assert isinstance(stacked, np.ndarray) and not is_streamed(stacked)
    np.testing.assert_array_equal(stacked, rows)


def test_large_split_stays_on_disk_and_reads_the_rows_asked_for(tmp_path, monkeypatch):
    monkeypatch.setenv("TLIB_STREAM_ABOVE_MB", "0.0001")  # 104 bytes < 10 x 48 bytes
    entries, rows = _entries(tmp_path)
    on_disk = stack_entries(entries)
    assert isinstance(on_disk, CachedRows) and is_streamed({"image": on_disk})
    assert on_disk.shape == rows.shape and on_disk.dtype == np.uint8 and len(on_disk) == 10
    assert on_disk.nbytes == rows.nbytes
    index = np.array([7, 2, 2, 9])
    np.testing.assert_array_equal(take_rows(on_disk, index), rows[index])
    np.testing.assert_array_equal(on_disk[3], rows[3])
    np.testing.assert_array_equal(on_disk[2:5], rows[2:5])
    np.testing.assert_array_equal(np.asarray(on_disk), rows)


def test_a_row_of_another_shape_is_an_error_naming_the_file(tmp_path):
    entries, _ = _entries(tmp_path, n=3)
    np.save(entries[1].path, np.zeros((5, 5, 3), np.uint8))
    with pytest.raises(DataError, match=r"1\.npy has shape \(5, 5, 3\)"):
        CachedRows.of([e.path for e in entries])[np.arange(3)]


def test_a_bad_threshold_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("TLIB_STREAM_ABOVE_MB", "lots")
    entries, _ = _entries(tmp_path, n=2)
    with pytest.raises(DataError, match="TLIB_STREAM_ABOVE_MB='lots'"):
        stack_entries(entries)


def test_rows_are_read_without_parsing_their_header(tmp_path, monkeypatch):
    """Reader threads must not call `ast` (CPython 3.11 gh-106905 raised "AST constructor
    recursion depth mismatch" in CI when a worker's np.load raced Keras tracing)."""
    entries, rows = _entries(tmp_path)
    on_disk = CachedRows.of([e.path for e in entries])

    def no_ast(*_):
        raise AssertionError("a row read parsed its .npy header")
    monkeypatch.setattr("ast.literal_eval", no_ast)
    np.testing.assert_array_equal(on_disk[np.arange(10)], rows)
    np.testing.assert_array_equal(on_disk[4], rows[4])


def test_a_truncated_row_is_an_error_naming_the_file(tmp_path):
    entries, _ = _entries(tmp_path, n=3)
    raw = entries[2].path.read_bytes()
    entries[2].path.write_bytes(raw[:-5])
    with pytest.raises(DataError, match=r"2\.npy unreadable \(43 bytes of data"):
        CachedRows.of([e.path for e in entries])[np.arange(3)]


def test_a_row_whose_header_is_written_differently_still_reads(tmp_path):
    entries, rows = _entries(tmp_path, n=3)
    with open(entries[1].path, "wb") as f:  # the same array in .npy format version 2.0
        np.lib.format.write_array(f, rows[1], version=(2, 0))
    np.testing.assert_array_equal(CachedRows.of([e.path for e in entries])[np.arange(3)], rows)
