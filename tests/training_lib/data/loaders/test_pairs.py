"""The pairs loader on a folder laid out unlike the demo: scanned, routed and loaded for real.

No class folders, no audio, captions written inline: a manifest `notes.jsonl` links
`shots/<n>.png` to a caption and a digit under the user's own keys.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from tests.fixtures.loader_files import digit_label, settings, write, write_digit
from training_lib.config.model_specs import MODELS
from training_lib.data.catalog import Catalog
from training_lib.data.features.cache import FeatureCache
from training_lib.data.loaders.registry import LoadRequest, load_dataset
from training_lib.data.routing import route
from training_lib.data.scan.scanner import scan_folder
from training_lib.errors import NoDataForModel

WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def _folder(root, keys: dict[str, str], n: int = 40) -> None:
    lines = []
    for i in range(n):
        shot = f"shots/{i:03d}.png"
        write_digit(root, shot, i)
        label = digit_label(i)
        lines.append({keys["image"]: shot, keys["text"]: f"a handwritten {WORDS[label]}",
                      keys["label"]: label})
    lines.insert(7, "oops")  # not a record: the others still count
    write(root, "notes.jsonl", "\n".join(json.dumps(line) for line in lines)
          .replace('"oops"', '{"picture": "shots/000.png", "caption": ') + "\n")


def _scan_route_load(root, tmp_path, **preset):
    with Catalog(tmp_path / "catalog.sqlite") as catalog:
        report = scan_folder(root, catalog, workers=0)
    s = settings(target_models=("multimodal_service",), **preset)
    routing = route(report.records, s, MODELS, ["multimodal_service"])
    req = LoadRequest("multimodal_service", routing.manifests["multimodal_service"], root, s,
                      _cache=FeatureCache(tmp_path / "cache"))
    return report, routing, load_dataset("pairs", req)


def test_synonym_keys_are_scanned_routed_and_loaded_without_fields(tmp_path):
    root = tmp_path / "data"
    _folder(root, {"image": "picture", "text": "caption", "label": "digit"})
    report, routing, data = _scan_route_load(root, tmp_path)
    notes = next(r for r in report.records if r.path == "notes.jsonl")
    assert notes.meta["record_format"] == "pairs" and notes.meta["n_records"] == 40
    assert routing.counts["multimodal_service"] == {"records:pairs": 40}
    assert data.info["fields"] == {"image": "picture", "text": "caption", "label": "digit"}
    assert data.info["bad_lines"] == {"notes.jsonl": [8]}
    assert data.classes == sorted({str(digit_label(i)) for i in range(40)})
    present = np.concatenate([data.x[s]["present"] for s in ("train", "val", "test")])
    assert present.shape == (40, 3)
    assert present[:, 0].all() and present[:, 2].all() and not present[:, 1].any()  # no audio
    text = np.concatenate([data.x[s]["text"] for s in ("train", "val", "test")])
    captions = {bytes((row[row > 0] - 1).astype(np.uint8)).decode() for row in text}
    assert "a handwritten seven" in captions  # the caption itself, as byte ids


def test_keys_of_the_users_own_need_fields_and_then_train(tmp_path):
    root = tmp_path / "data"
    _folder(root, {"image": "pic", "text": "blurb", "label": "num"})
    with Catalog(tmp_path / "catalog.sqlite") as catalog:
        report = scan_folder(root, catalog, workers=0)
    notes = next(r for r in report.records if r.path == "notes.jsonl")
    assert "no_record_format" in notes.flags
    assert notes.meta["record_keys"] == ["blurb", "num", "pic"]
    s = settings(target_models=("multimodal_service",))
    assert route(report.records, s, MODELS, ["multimodal_service"]).counts[
        "multimodal_service"] == {}
    fields = {"image": "pic", "text": "blurb", "label": "num"}
    _, routing, data = _scan_route_load(root, tmp_path,
                                        models={"multimodal_service": {"fields": fields}})
    assert routing.counts["multimodal_service"] == {"records:pairs": 40}
    assert data.info["fields"] == fields
    assert sum(data.size(s) for s in ("train", "val", "test")) == 40


def test_a_manifest_without_labels_says_which_key_to_map(tmp_path):
    root = tmp_path / "data"
    _folder(root, {"image": "picture", "text": "caption", "label": "number_shown"})
    with pytest.raises(NoDataForModel) as info:
        _scan_route_load(root, tmp_path)
    message = str(info.value)
    assert message.startswith("multimodal_service: no labeled {image, audio, text, label} "
                              "records (a pairs manifest) (needs 2 of image/audio/text and "
                              "label) in 1 JSON file(s):\n  notes.jsonl: keys found: caption, "
                              "number_shown, picture; expected: label (as label or digit or "
                              "class or category or target or y)")
    assert message.endswith("to read them, add to the preset: models: {multimodal_service: "
                            "{fields: {label: number_shown}}}")
