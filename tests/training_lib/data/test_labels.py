"""Labels: declared by a preset's dataset entries (subfolders, a labels file, none, a
record field) or inferred; small classes dropped with a warning naming their files."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest

from training_lib.config.schema import DatasetSelector, PresetModel
from training_lib.data.catalog import Catalog
from training_lib.data.labels import (drop_small_classes, infer_labels, label_options,
                                      preset_labels)
from training_lib.data.records import FileRecord
from training_lib.data.scan.scanner import scan_folder
from training_lib.errors import DataError


def preset(*datasets: DatasetSelector, **kw: object) -> PresetModel:
    return PresetModel(description="t", target_models=("causal_reasoning_engine",), epochs=1,
                       datasets=datasets or (DatasetSelector(),), **kw)


@pytest.fixture(scope="module")
def messy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[FileRecord]]:
    from tests.fixtures.label_layouts import write_messy_folder

    base = tmp_path_factory.mktemp("labels")
    root = write_messy_folder(base / "data")
    with Catalog(base / "c.sqlite") as catalog:
        return root, scan_folder(root, catalog, workers=0).records


def classes(records: list[FileRecord], labelling) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in labelling.apply(records):
        if r.label:
            out[r.label] = out.get(r.label, 0) + 1
    return out


def test_declared_subfolders_label_every_file_below_them_however_deep(messy) -> None:
    root, records = messy
    got = preset_labels(records, preset(DatasetSelector(path="misc", labels="subfolders")), root)
    assert classes(records, got) == {"deep": 3, "backup": 3}  # the user asked for these
    assert got.groups[0].source == "subfolders"


def test_an_entry_without_labels_infers_with_the_presets_min_class_files(messy) -> None:
    root, records = messy
    got = preset_labels(records, preset(DatasetSelector(path="text"), min_class_files=1), root)
    assert classes(records, got) == {"news": 6, "poems": 6, "recipes": 6, "haiku": 1}
    assert classes(records, preset_labels(records, preset(DatasetSelector(path="text")), root)) \
        == {"news": 6, "poems": 6, "recipes": 6}


def test_labels_none_and_the_first_entry_selecting_a_file_wins(messy) -> None:
    root, records = messy
    got = preset_labels(records, preset(DatasetSelector(path="text", labels="none"),
                                        DatasetSelector(path=".")), root)
    assert classes(records, got) == {"cats": 5, "dogs": 5}
    assert [g.source for g in got.groups][0] == "none"


def test_a_labels_file_maps_paths_to_labels(messy, tmp_path: Path, caplog) -> None:
    root, records = messy
    (root / "captions" / "labels.csv").write_text(
        "filename,class\ncaption_0.txt,short\ncaption_1.txt,long\ncaption_2.txt,short\n"
        "gone.txt,long\n")
    try:
        with caplog.at_level(logging.WARNING, logger="training_lib.data.labels"):
            got = preset_labels(records, preset(DatasetSelector(
                path="captions", labels={"file": "labels.csv"})), root)
    finally:
        (root / "captions" / "labels.csv").unlink()
    assert got.labels == {"captions/caption_0.txt": "short", "captions/caption_1.txt": "long",
                          "captions/caption_2.txt": "short"}
    assert "captions/gone.txt" in caplog.text
    with pytest.raises(DataError, match="labels file .*missing.csv.* cannot be read"):
        preset_labels(records, preset(DatasetSelector(path="captions",
                                                      labels={"file": "missing.csv"})), root)


def test_a_label_field_reaches_the_loader_options() -> None:
    settings = preset(DatasetSelector(labels={"field": "digit"}))
    assert label_options(settings, "multimodal_service") == {
        "target_column": "digit", "fields": {"label": "digit"}}
    assert label_options(preset(), "data_analysis_model") == {"target_column": None}
    got = preset_labels([FileRecord("p.jsonl", 1, 0, "h", "json", "jsonl")], settings)
    assert got.labels == {} and got.label_fields == {".": "digit"}


def test_stray_files_of_another_type_take_no_folder_label() -> None:
    recs = [FileRecord(f"{c}/{k}.wav", 1, 0, f"{c}{k}", "audio", "wav")
            for c in ("yes", "no") for k in range(5)]
    recs.append(FileRecord("yes/readme.txt", 1, 0, "r", "text", "plain"))
    got = infer_labels(recs)
    assert "yes/readme.txt" not in got.labels and len(got.labels) == 10
    assert got.groups[0].strays == ("yes/readme.txt",)


def test_small_classes_are_dropped_with_a_warning_naming_their_files(caplog) -> None:
    recs = [FileRecord(f"t/{c}/{k}.txt", 1, 0, f"{c}{k}", "text", "plain", label=c)
            for c, n in (("big", 6), ("tiny", 2)) for k in range(n)]
    with caplog.at_level(logging.WARNING, logger="training_lib.data.labels"):
        kept, dropped = drop_small_classes(recs, 5, "causal_reasoning_engine")
    assert {r.label for r in kept} == {"big"} and dropped == {"tiny": ["t/tiny/0.txt", "t/tiny/1.txt"]}
    assert ("causal_reasoning_engine: class 'tiny' dropped: 2 files, fewer than "
            "min_class_files=5: t/tiny/0.txt, t/tiny/1.txt") in caplog.text
