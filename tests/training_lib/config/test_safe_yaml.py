"""Preset YAML: hostile documents fail fast with a short message; ordinary YAML still loads."""
from __future__ import annotations

from pathlib import Path

import pytest

from training_lib.config.safe_yaml import (MAX_ALIASES, MAX_DEPTH, MAX_NODES, UnsafeYamlError,
                                          load_yaml)

ROOT = Path(__file__).resolve().parents[3]
HOSTILE = ROOT / "tests" / "fixtures" / "presets" / "hostile"


@pytest.mark.parametrize(("name", "expected"), [
    ("billion_laughs.yaml", f"line 8: more than {MAX_NODES} values once aliases are expanded"),
    ("alias_bomb_tags.yaml", f"line 6: more than {MAX_NODES} values once aliases are expanded"),
    ("deep_nesting.yaml", f"line 3: nested deeper than {MAX_DEPTH} levels"),
    ("duplicate_keys.yaml", "key 'epochs' is set twice: line 3 and line 5"),
])
def test_hostile_fixture_is_refused_with_a_short_message(name, expected):
    with pytest.raises(UnsafeYamlError) as info:
        load_yaml((HOSTILE / name).read_text())
    assert str(info.value).startswith(expected)
    assert len(str(info.value)) < 200


def test_nesting_up_to_the_limit_loads_and_one_more_level_does_not():
    value = load_yaml("a: " + "[" * (MAX_DEPTH - 1) + "1" + "]" * (MAX_DEPTH - 1))
    depth = 0
    node = value["a"]
    while isinstance(node, list):
        node, depth = node[0], depth + 1
    assert (depth, node) == (MAX_DEPTH - 1, 1)  # the mapping is level 1
    with pytest.raises(UnsafeYamlError, match="nested deeper"):
        load_yaml("a: " + "[" * MAX_DEPTH + "1" + "]" * MAX_DEPTH)


def test_alias_count_is_limited_even_when_each_alias_is_small():
    ok = "x: &x 1\ny: [" + ", ".join(["*x"] * MAX_ALIASES) + "]\n"
    assert load_yaml(ok)["y"] == [1] * MAX_ALIASES
    with pytest.raises(UnsafeYamlError, match=f"more than {MAX_ALIASES} aliases"):
        load_yaml(ok.replace("]", ", *x]"))


def test_expanded_size_counts_what_an_alias_stands_for():
    # 7 levels of 7 aliases = 49 aliases, under the alias limit, but 9 * 7**6 strings
    lines = ["l0: &l0 [a, a, a, a, a, a, a, a, a]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 7)}]" for i in range(1, 8)]
    with pytest.raises(UnsafeYamlError, match="values once aliases are expanded"):
        load_yaml("\n".join(lines))
    assert len(load_yaml("\n".join(lines[:3]))["l2"]) == 7  # 9 * 49 strings is fine


def test_duplicate_keys_are_found_in_nested_mappings_too():
    with pytest.raises(UnsafeYamlError, match="key 'keep_last' is set twice: line 2 and line 4"):
        load_yaml("checkpoint:\n  keep_last: 3\n  keep_best: true\n  keep_last: 5\n")


def test_merge_keys_and_anchors_of_ordinary_presets_still_work():
    data = load_yaml("base: &b {epochs: 3, batch_size: 8}\n"
                     "derived:\n  <<: *b\n  batch_size: 16\n")
    assert data["derived"] == {"epochs": 3, "batch_size": 16}


def test_every_shipped_preset_is_within_the_limits():
    for path in (ROOT / "presets").glob("*.yaml"):
        assert isinstance(load_yaml(path.read_text()), dict), path
