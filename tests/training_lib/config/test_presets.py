"""Hostile preset files: each is one short PresetError naming the file, never a hang,
a memory bomb, a crash or a module imported during validation."""
from __future__ import annotations

from pathlib import Path

import pytest

from training_lib.config import load_preset
from training_lib.errors import PresetError

ROOT = Path(__file__).resolve().parents[3]
HOSTILE = ROOT / "tests" / "fixtures" / "presets" / "hostile"


@pytest.mark.parametrize(("name", "expected"), [
    ("billion_laughs", "invalid YAML: line 8: more than 20000 values once aliases are expanded"),
    ("alias_bomb_tags", "invalid YAML: line 6: more than 20000 values once aliases are expanded"),
    ("deep_nesting", "invalid YAML: line 3: nested deeper than 20 levels"),
    ("duplicate_keys", "invalid YAML: key 'epochs' is set twice: line 3 and line 5"),
    ("infinite_delay", "key 'retry_delay_seconds': got Infinity (float); expected a finite number"),
    ("never_fires", "key 'schedule': got '0 0 30 2 *' (str); expected a cron expression or "
                    "@macro (it matches no date of any year, so it would never run)"),
    ("foreign_entry", "key 'custom_models.mine.entry': got 'this.x:f' (str); expected a module "
                      "in training_lib, plugins/ or a package named in TLIB_MODEL_PACKAGES"),
])
def test_hostile_preset_is_one_short_preset_error(name, expected):
    path = HOSTILE / f"{name}.yaml"
    with pytest.raises(PresetError) as info:
        load_preset(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {expected}")
    assert len(message) < 1000


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "wide.yaml"
    path.write_text(text)
    return path


def test_many_wrong_values_are_summarised_not_all_listed(tmp_path):
    path = _write(tmp_path, "description: x\ntarget_models: [math_model]\nepochs: 1\n"
                  f"tags: [{', '.join(['1'] * 5000)}]\n")
    with pytest.raises(PresetError) as info:
        load_preset(path)
    lines = str(info.value).splitlines()
    assert len(lines) == 21
    assert "key 'tags[0]': got 1 (int); expected a valid string" in lines[0]
    assert lines[-1].strip() == "... and 4980 more errors"


def test_a_long_wrong_value_is_shown_cut(tmp_path):
    path = _write(tmp_path, "description: x\ntarget_models: [math_model]\n"
                  f"epochs: [{', '.join(['12345'] * 2000)}]\n")
    with pytest.raises(PresetError) as info:
        load_preset(path)
    message = str(info.value)
    assert "key 'epochs': got [12345, 12345," in message
    assert "... (14000 characters) (tuple); expected a valid integer" in message
    assert len(message) < 500


def test_each_file_is_read_once_per_version_and_an_edit_is_seen(tmp_path, monkeypatch):
    (tmp_path / "_defaults.yaml").write_text("batch_size: 16\nseed: 7\n")
    for name in ("one", "two", "three"):
        (tmp_path / f"{name}.yaml").write_text("description: d\ntarget_models: [logic_model]\n"
                                               "epochs: 2\n")
    opened: list[str] = []
    original = Path.open

    def counted(self, mode="r", *args, **kwargs):
        if "r" in mode:
            opened.append(self.name)
        return original(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", counted)
    for _ in range(3):  # three parses of the folder by a long-lived DAG processor
        presets = [load_preset(name, tmp_path) for name in ("one", "two", "three")]
    assert sorted(opened) == ["_defaults.yaml", "one.yaml", "three.yaml", "two.yaml"]
    assert all(p.settings.batch_size == 16 for p in presets)
    presets[0].settings.model_dump()  # a caller's copy; the cached mapping stays intact
    (tmp_path / "_defaults.yaml").write_text("batch_size: 48\nseed: 7\n")  # another size
    assert load_preset("two", tmp_path).settings.batch_size == 48
    assert opened.count("_defaults.yaml") == 2
