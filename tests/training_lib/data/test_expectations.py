"""Great Expectations over the catalog: a passing run, the critical failure path, Data Docs."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from training_lib.config.schema import DatasetSelector, PresetModel
from training_lib.data.catalog import Catalog
from training_lib.data.expectations import validate_catalog
from training_lib.data.scan.scanner import scan_folder


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory):
    from tests.fixtures.sample_files import PROSE

    root = tmp_path_factory.mktemp("gx")
    for label in ("news", "poems", "law"):
        for k in range(12):
            path = root / "text" / label / f"{k}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{label} {k}: " + PROSE.decode())
    with Catalog(root / ".catalog.sqlite") as catalog:
        return scan_folder(root, catalog, workers=0).records


def _preset(**kw: object) -> PresetModel:
    return PresetModel(description="test", target_models=("causal_reasoning_engine",), epochs=1, **kw)


def test_clean_catalog_passes_and_writes_data_docs(records, tmp_path: Path) -> None:
    summary = validate_catalog(records, preset=_preset(), supervised_types={"text"}, out_dir=tmp_path)
    assert summary.success and summary.critical == [] and summary.warnings == []
    assert summary.docs_path == tmp_path / "data_docs" / "index.html"
    assert summary.docs_path.is_file() and "critical_files" in summary.docs_path.read_text()
    assert len(summary.results) == 9 and all(r["success"] for r in summary.results)


def test_duplicates_low_scores_and_missing_labels_are_warnings_not_failures(records,
                                                                           tmp_path: Path) -> None:
    broken = [dataclasses.replace(r, label=None) if i % 2 else r for i, r in enumerate(records)]
    for i in range(0, 20, 2):
        broken[i] = dataclasses.replace(broken[i], score=0.0, flags=("truncated",))
    broken += [dataclasses.replace(broken[22], path=f"copies/{k}.txt") for k in range(40)]
    summary = validate_catalog(broken, preset=_preset(quality_floor=0.5), supervised_types={"text"},
                               out_dir=tmp_path)
    assert summary.success and summary.critical == []  # training on what is left is meaningful
    text = "\n".join(summary.warnings)
    assert "expect_column_values_to_be_unique" in text and "copies/0.txt" in text
    assert "expect_column_values_to_not_be_null" in text and "text/law/1.txt" in text
    assert any("score" in w and "text/law/0.txt" in w for w in summary.warnings)
    assert summary.docs_path is not None and summary.docs_path.is_file()


def test_one_tiny_class_is_a_warning_naming_it(records, tmp_path: Path) -> None:
    tiny = [dataclasses.replace(records[0], path="text/haiku/only.txt", label="haiku")]
    summary = validate_catalog(records + tiny, preset=_preset(), supervised_types={"text"},
                               out_dir=tmp_path)
    assert summary.success
    assert [w for w in summary.warnings if "min_class_files=5" in w and "text/haiku (count=1)" in w]


@pytest.mark.parametrize("case, expected", [
    ("no labels", "labelled data"),
    ("one class", "more than a single class"),
    ("all flagged", "not every file flagged"),
])
def test_critical_only_when_training_is_meaningless(records, tmp_path: Path, case: str,
                                                     expected: str) -> None:
    if case == "no labels":
        broken = [dataclasses.replace(r, label=None) for r in records]
    elif case == "one class":  # two classes fall below min_class_files and are dropped
        broken = [r for r in records if r.label == "law" or r.path.endswith(("/0.txt", "/1.txt"))]
    else:
        broken = [dataclasses.replace(r, score=0.1, flags=("truncated",)) for r in records]
    summary = validate_catalog(broken, preset=_preset(), supervised_types={"text"}, out_dir=tmp_path)
    assert not summary.success  # reported, not raised: the caller raises ValidationFailed
    assert any(expected in line for line in summary.critical), summary.critical
    if case == "one class":
        assert len(summary.critical) == 1
    # with target_models: auto, routing leaves such a model out: a warning, not a failure
    auto = validate_catalog(broken, preset=PresetModel(description="t", target_models="auto",
                                                       epochs=1),
                            supervised_types={"text"}, out_dir=tmp_path / "auto")
    assert auto.success == (case != "all flagged")


def test_types_outside_the_preset_are_warnings(records, tmp_path: Path) -> None:
    preset = _preset(datasets=(DatasetSelector(types=("image",)),))
    summary = validate_catalog(records, preset=preset, supervised_types={"text"}, out_dir=tmp_path)
    assert summary.success
    assert any("expect_column_values_to_be_in_set" in w for w in summary.warnings)
