"""bound_meta: lists keep MAX_ITEMS entries and their length; oversized meta drops its
biggest values and says which."""
from __future__ import annotations

import json

from training_lib.data.scan.meta_bounds import MAX_ITEMS, MAX_META_BYTES, bound_meta


def test_meta_within_bounds_is_returned_as_it_is():
    meta = {"columns": ["a", "b"], "n_rows": 3}
    assert bound_meta(meta) is meta


def test_a_long_list_is_cut_and_its_length_kept_without_touching_the_input():
    meta = {"columns": [f"c{i}" for i in range(MAX_ITEMS + 5)], "pages": (1, 2)}
    out = bound_meta(meta)
    assert out["columns"] == [f"c{i}" for i in range(MAX_ITEMS)]
    assert (out["n_columns"], out["truncated_keys"], out["pages"]) == (MAX_ITEMS + 5, ["columns"],
                                                                     (1, 2))
    assert len(meta["columns"]) == MAX_ITEMS + 5
    assert bound_meta(out) == out  # applying it twice changes nothing


def test_oversized_values_are_dropped_biggest_first():
    meta = {"error": "x" * (2 * MAX_META_BYTES), "names": ["y" * 100] * 500, "n_rows": 7}
    out = bound_meta(meta)
    assert out == {"names": ["y" * 100] * 500, "n_rows": 7, "dropped_keys": ["error"]}
    assert len(json.dumps(out)) <= MAX_META_BYTES
