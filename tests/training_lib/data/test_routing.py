"""Routing: selectors, quality floor, record formats, auto mode and its reasons."""
from __future__ import annotations

from training_lib.config.schema import DatasetSelector, PresetModel
from training_lib.data.records import FileRecord
from training_lib.data.routing import route
from training_lib.data.selection import selected
from training_lib.config.model_specs import MODELS


def rec(path: str, type_: str, *, label: str | None = None, score: float = 1.0,
        **meta) -> FileRecord:
    return FileRecord(path, 10, 0, path, type_, "x", label=label, score=score, meta=meta)


def settings(**kw) -> PresetModel:
    return PresetModel(description="t", target_models=("vision_service",), epochs=1, **kw)


RECORDS = [
    *[rec(f"images/{i % 10}/{i}.png", "image", label=str(i % 10)) for i in range(50)],
    rec("images/bad.png", "image", label="3", score=0.0),
    rec("images/unlabeled.png", "image"),
    rec("math/a.json", "json", record_format="arithmetic", n_records=500),
    rec("logic/p.jsonl", "json", record_format="proposition", n_records=8),
    rec("tables/iris.csv", "tabular", n_rows=150),
    rec("misc/blob.bin", "unknown"),
]


def test_models_get_what_they_consume_above_the_floor():
    specs = {m: MODELS[m] for m in ("vision_service", "math_model", "data_analysis_model")}
    r = route(RECORDS, settings(), specs, list(specs))
    assert len(r.manifests["vision_service"]) == 50  # labeled images only, the bad one kept out
    assert r.below_floor == ["images/bad.png"]
    assert [f.path for f in r.manifests["math_model"]] == ["math/a.json"]
    assert r.counts["data_analysis_model"] == {"tabular": 150}  # rows, not files
    assert "misc/blob.bin" in r.unusable


def test_auto_mode_leaves_out_models_without_enough_data_and_says_why():
    r = route(RECORDS, settings(), dict(MODELS), None)
    assert "vision_service" in r.manifests and "math_model" in r.manifests
    assert "audio_service" not in r.manifests
    assert r.left_out["audio_service"].startswith("0 usable samples of audio")
    assert r.left_out["logic_model"] == "8 usable samples of records:proposition (needs 20)"


def test_selectors_filter_by_folder_glob_and_type():
    only_math = (DatasetSelector(path="math", include=("*.json",)),)
    assert selected(RECORDS[-4], only_math) and not selected(RECORDS[0], only_math)
    no_png = (DatasetSelector(exclude=("**/*.png",)),)
    assert not selected(RECORDS[0], no_png) and selected(RECORDS[-3], no_png)
    images = (DatasetSelector(types=("image",)),)
    assert selected(RECORDS[0], images) and not selected(RECORDS[-1], images)
    r = route(RECORDS, settings(datasets=only_math), {"vision_service": MODELS["vision_service"]},
              ["vision_service"])
    assert r.manifests["vision_service"] == [] and r.not_selected == len(RECORDS) - 1


def test_a_class_below_min_class_files_is_dropped_not_fatal(caplog):
    import logging

    tiny = [rec(f"images/odd/{k}.png", "image", label="odd") for k in range(2)]
    with caplog.at_level(logging.WARNING, logger="training_lib.data.labels"):
        r = route(RECORDS + tiny, settings(), {"vision_service": MODELS["vision_service"]},
                  ["vision_service"])
    assert len(r.manifests["vision_service"]) == 50 and "vision_service" not in r.left_out
    assert r.dropped_classes == {"vision_service": {"odd": ["images/odd/0.png",
                                                            "images/odd/1.png"]}}
    assert "class 'odd' dropped: 2 files" in caplog.text and "images/odd/1.png" in caplog.text
    # a lower preset minimum keeps it
    r = route(RECORDS + tiny, settings(min_class_files=2), {"vision_service": MODELS["vision_service"]},
              ["vision_service"])
    assert len(r.manifests["vision_service"]) == 52 and r.dropped_classes == {}


def test_a_model_left_with_a_single_class_gets_no_training_in_auto_mode():
    one = [rec(f"images/7/{k}.png", "image", label="7") for k in range(25)]
    one += [rec(f"images/1/{k}.png", "image", label="1") for k in range(3)]  # dropped: < 5
    r = route(one, settings(), {"vision_service": MODELS["vision_service"]}, None)
    assert "vision_service" not in r.manifests
    assert r.left_out["vision_service"] == "a single class left (7): nothing to tell apart"
