"""A strategy registered from outside the package is a first-class one: a preset may
choose it, the share task writes its knowledge and a student's consume reads it back."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from training_lib.collab.consume import apply_knowledge
from training_lib.collab.share import Participant, Views, compute_knowledge, write_round
from training_lib.collab.strategies.base import Strategy, chosen_strategies
from training_lib.config.extensions import STRATEGIES
from training_lib.config.presets import validate_settings
from training_lib.data.dataset import Dataset
from training_lib.errors import PresetError

PRESET = {"description": "toy", "target_models": ("vision_service", "audio_service"),
          "epochs": 1, "enable_collaborative_training": True, "rounds": 2}


@pytest.fixture
def peer_sizes():
    """A toy strategy: every model learns how many training rows its peers had."""

    @STRATEGIES.register
    class PeerSizes(Strategy):
        name = "peer_sizes"

        def share(self, participants, settings):
            sizes = {p.name: p.train_size for p in participants}
            return sizes, {"models": sorted(sizes)}

        def write(self, folder: Path, payload: dict[str, int]) -> None:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "peer_sizes.json").write_text(json.dumps(payload))

        def read(self, folder: Path, student: str) -> dict[str, int]:
            sizes = json.loads((folder / "peer_sizes.json").read_text())
            return {m: n for m, n in sizes.items() if m != student}

        def consume(self, model: Any, dataset: Dataset, payload: dict[str, int],
                    cfg: Any) -> tuple[Dataset, dict[str, Any]]:
            return dataset, {"peer_rows": sum(payload.values())}

    yield PeerSizes
    STRATEGIES.unregister("peer_sizes")


def _dataset() -> Dataset:
    x = np.zeros((6, 2), np.float32)
    y = np.array([0, 1, 0, 1, 0, 1])
    return Dataset("vision_service", {"train": x[:4], "val": x[4:5], "test": x[5:]},
                   {"train": y[:4], "val": y[4:5], "test": y[5:]}, ["a", "b"])


def test_a_registered_strategy_is_chosen_by_a_preset_shared_and_consumed(peer_sizes,
                                                                         tmp_path):
    settings = validate_settings({**PRESET, "collaboration": {"strategies": ("peer_sizes",)}},
                                 Path("toy.yaml"))
    assert settings.collaboration.strategies == ("peer_sizes",)
    participants = [Participant("vision_service", None, ["a", "b"], "image", 120),
                    Participant("audio_service", None, ["a", "b"], "audio", 80)]
    result = compute_knowledge(participants, Views([], {}, {}), settings)
    assert result.summary["peer_sizes"] == {"models": ["audio_service", "vision_service"]}
    folder = tmp_path / "knowledge" / "round_1"
    write_round(folder, result)
    assert json.loads((folder / "peer_sizes.json").read_text()) == {
        "vision_service": 120, "audio_service": 80}
    # the student's side: what consume_knowledge does with the round's folder
    chosen = chosen_strategies(settings.collaboration.strategies)
    payloads = {s.name: s.read(folder, "vision_service") for s in chosen if not s.paired}
    dataset = _dataset()
    out, stats = apply_knowledge(None, dataset, None, payloads, settings.collaboration)
    assert stats["peer_rows"] == 80 and out is dataset


def test_an_unknown_strategy_names_the_key_and_the_registered_ones(peer_sizes):
    with pytest.raises(PresetError) as caught:
        validate_settings({**PRESET, "collaboration": {"strategies": ("peer_size",)}},
                          Path("presets/toy.yaml"))
    message = str(caught.value)
    assert "key 'collaboration.strategies[0]': got 'peer_size'" in message
    assert "cotraining, distillation, shared_text, peer_sizes" in message
