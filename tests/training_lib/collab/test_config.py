"""The preset's `collaboration:` section is validated like every other key."""
from __future__ import annotations

from pathlib import Path

import pytest

from training_lib.config import load_preset
from training_lib.errors import PresetError

ROOT = Path(__file__).resolve().parents[3]
BASE = ("description: x\ntarget_models: [vision_service, audio_service]\nepochs: 1\n"
        "enable_collaborative_training: true\nrounds: 2\n")


def test_shipped_collaborative_preset_uses_what_the_bench_measured():
    s = load_preset("collaborative_training", ROOT / "presets").settings
    assert s.enable_collaborative_training and s.rounds == 2
    assert s.collaboration.strategies == ("cotraining",)
    assert s.collaboration.confidence_threshold == 0.5 and s.collaboration.same_steps


@pytest.mark.parametrize(("section", "expected"), [
    ("collaboration: {strategies: [cotrain]}",
     r"collaboration.strategies\[0\].*'cotrain'"),
    ("collaboration: {strategies: [cotraining, cotraining]}",
     r"collaboration.strategies.*at most once"),
    ("collaboration: {confidence_threshold: 1.5}",
     r"collaboration.confidence_threshold.*1.5"),
    ("collaboration: {temprature: 2}",
     r"collaboration.temprature.*unknown key.*temperature"),
])
def test_bad_collaboration_settings_name_the_key_and_value(tmp_path, section, expected):
    path = tmp_path / "bad_collab.yaml"
    path.write_text(BASE + section + "\n")
    with pytest.raises(PresetError, match=expected):
        load_preset(path)
