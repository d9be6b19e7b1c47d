"""The feature cache: shapes per kind, memory-mapped hits, shared across renames, errors."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from training_lib.config.schema import Preprocessing
from training_lib.data.catalog import Catalog
from training_lib.data.features.cache import FeatureCache
from training_lib.data.scan.scanner import scan_folder
from training_lib.errors import DataError


@pytest.fixture
def scanned(samples: Path, tmp_path: Path):
    root = tmp_path / "root"
    shutil.copytree(samples / "good", root / "good")
    with Catalog(tmp_path / "c.sqlite") as catalog:
        report = scan_folder(root, catalog, workers=0)
    return root, {r.path.split("/")[-1]: r for r in report.records}


def test_get_shapes_and_dtypes(scanned, tmp_path: Path) -> None:
    root, recs = scanned
    cache = FeatureCache(tmp_path / "features")
    params = Preprocessing(image_size=24, text_max_length=64, audio_sample_rate=8000, audio_clip_seconds=0.5)
    image = cache.get("image", root, recs["picture.png"], params)
    assert image.shape == (24, 24, 3) and image.dtype == np.uint8
    mel = cache.get("audio", root, recs["speech.flac"], params)
    assert mel.shape == (40, 51) and mel.dtype == np.float32  # 0.5 s at 10 ms hops
    assert mel.max() > mel.min() + 5  # a real tone, not padding
    ids = cache.get("text", root, recs["story.txt"], params)
    assert ids.shape == (64,) and ids.dtype == np.int32
    assert bytes(int(i) - 1 for i in ids[:9]) == b"The quick"
    utf16 = cache.get("text", root, recs["utf16.txt"], params)
    assert bytes(int(i) - 1 for i in utf16[:9]) == b"The quick"  # decoded, then UTF-8 bytes
    page = cache.get("document", root, recs["paper.pdf"], params)
    assert page.shape == (24, 24, 3) and page.min() < 240 and page.max() == 255  # ink on paper
    words = cache.get("document_text", root, recs["paper.pdf"], params)
    assert b"The quick" in bytes(int(i) - 1 for i in words if i)
    docx_words = cache.get("document_text", root, recs["letter.docx"], params)
    assert b"Letter" in bytes(int(i) - 1 for i in docx_words if i)
    frames = cache.get("video", root, recs["clip.mp4"], params)
    assert frames.shape == (8, 24, 24, 3) and frames.dtype == np.uint8
    assert frames[-1].mean() > frames[0].mean()  # the fixture clip brightens frame by frame


def test_hit_is_memory_mapped_and_shared_across_names(scanned, tmp_path: Path) -> None:
    root, recs = scanned
    cache = FeatureCache(tmp_path / "features")
    params = Preprocessing()
    first = cache.get("image", root, recs["picture.png"], params)
    again = cache.get("image", root, recs["picture.png"], params)
    assert isinstance(again, np.memmap) and np.array_equal(first, again)
    shutil.copy(root / "good" / "picture.png", root / "good" / "renamed.png")
    with Catalog(tmp_path / "c2.sqlite") as catalog:
        renamed = {r.path: r for r in scan_folder(root, catalog, workers=0).records}["good/renamed.png"]
    assert cache.path("image", renamed, params) == cache.path("image", recs["picture.png"], params)
    other = Preprocessing(image_size=16)
    assert cache.path("image", renamed, other) != cache.path("image", renamed, params)


def test_build_in_parallel_then_everything_is_cached(scanned, tmp_path: Path) -> None:
    root, recs = scanned
    cache = FeatureCache(tmp_path / "features")
    params = Preprocessing()
    records = [r for r in recs.values() if r.type in ("image", "audio", "text", "code", "document")]
    calls: list[tuple[int, int]] = []
    stats = cache.build(root, records, params, workers=2, progress=lambda d, t: calls.append((d, t)))
    assert stats["failed"] == []
    assert stats["computed"]["image"] == 6 and stats["computed"]["audio"] == 5
    assert stats["computed"]["document"] == 3 and stats["computed"]["document_text"] == 3
    assert stats["audio_seconds_per_s"] > 0 and calls[-1][0] == calls[-1][1]
    again = cache.build(root, records, params, workers=2)
    assert again["computed"] == {} and sum(again["cached"].values()) == sum(stats["computed"].values())


def test_undecodable_or_changed_files_raise_naming_the_file(scanned, samples: Path, tmp_path: Path) -> None:
    root, recs = scanned
    cache = FeatureCache(tmp_path / "features")
    shutil.copy(samples / "flawed" / "corrupt.png", root / "good" / "corrupt.png")
    with Catalog(tmp_path / "c3.sqlite") as catalog:
        bad = {r.path: r for r in scan_folder(root, catalog, workers=0).records}["good/corrupt.png"]
    with pytest.raises(DataError, match="corrupt.png"):
        cache.get("image", root, bad, Preprocessing())
    (root / "good" / "picture.png").write_bytes((root / "good" / "web.webp").read_bytes())
    with pytest.raises(DataError, match="picture.png: content changed since the scan"):
        cache.get("image", root, recs["picture.png"], Preprocessing())
    stats = cache.build(root, [bad], Preprocessing(), workers=1)
    assert len(stats["failed"]) == 1 and "corrupt.png" in stats["failed"][0]


def test_default_root_is_the_store(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TLIB_STORE_DIR", str(tmp_path / "store"))
    assert FeatureCache().root == tmp_path / "store" / "features"
