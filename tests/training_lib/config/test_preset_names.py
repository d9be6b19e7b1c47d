"""A mistyped preset name gets a suggestion."""
from __future__ import annotations

import pytest

from training_lib.config.presets import load_preset
from training_lib.errors import PresetError


def test_a_mistyped_name_suggests_the_close_one() -> None:
    with pytest.raises(PresetError, match=r"no such preset file; did you mean 'quick_start'\?"):
        load_preset("quick_strat")


def test_a_name_far_from_every_preset_says_where_to_look() -> None:
    with pytest.raises(PresetError, match="no such preset file; `python -m training_lib presets` "
                                          "lists the presets"):
        load_preset("zzzzzz")
