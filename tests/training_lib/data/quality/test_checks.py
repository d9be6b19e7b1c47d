"""Quality flags: each flaw has a fixture file made by a real encoder, then damaged."""
from __future__ import annotations

import io
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from training_lib.data.catalog import Catalog
from training_lib.data.scan.probe import probe_file
from training_lib.data.quality.duplicates import mark_duplicates
from training_lib.data.quality.limits import QualityLimits
from training_lib.data.quality.scores import FATAL, score_of
from training_lib.data.scan.scanner import scan_folder


def test_good_files_have_no_flags_and_full_score(samples: Path, good_files: dict) -> None:
    limits = QualityLimits()
    flagged = {}
    for name in good_files:
        result = probe_file(str(samples / "good" / name), name, limits)
        if result["flags"]:
            flagged[name] = result["flags"]
    # text in another encoding is good to use, and says so (the mild non_utf8_encoding)
    assert flagged == {"utf16.txt": ["non_utf8_encoding"], "latin1.txt": ["non_utf8_encoding"]}
    assert score_of(["non_utf8_encoding"]) >= 0.9


def test_each_flaw_is_flagged(samples: Path, flaws: dict[str, list[str]]) -> None:
    limits = QualityLimits()
    missed = {}
    for name, expected in flaws.items():
        got = probe_file(str(samples / "flawed" / name), name, limits)["flags"]
        if not set(expected) <= set(got):
            missed[name] = (expected, got)
    assert missed == {}


def test_fatal_flags_score_below_any_sensible_floor(samples: Path, flaws: dict[str, list[str]]) -> None:
    for name, expected in flaws.items():
        if FATAL.intersection(expected):
            flags = probe_file(str(samples / "flawed" / name), name, QualityLimits())["flags"]
            assert score_of(flags) <= 0.1, name
    assert score_of([]) == 1.0
    assert score_of(["duplicate"]) < 0.2
    assert 0.5 < score_of(["wrong_extension"]) < 1.0
    assert score_of(["low_contrast", "wrong_extension"]) == pytest.approx(0.54)


def test_bomb_is_never_decoded(samples: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import ImageFile

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a decompression bomb reached the decoder")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)
    result = probe_file(str(samples / "flawed" / "bomb.png"), "bomb.png", QualityLimits())
    assert result["flags"] == ["bomb"]
    assert (result["meta"]["width"], result["meta"]["height"]) == (100_000, 100_000)


def test_zip_bomb_is_flagged_from_declared_sizes(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.bin", bytes(8 << 20))
    (tmp_path / "z.zip").write_bytes(buffer.getvalue())
    result = probe_file(str(tmp_path / "z.zip"), "z.zip", QualityLimits(max_unpacked_bytes=1 << 20))
    assert result["flags"] == ["bomb"]
    assert probe_file(str(tmp_path / "z.zip"), "z.zip", QualityLimits())["flags"] == []


def test_gzip_bomb_stops_at_the_limit(tmp_path: Path) -> None:
    import gzip

    (tmp_path / "z.gz").write_bytes(gzip.compress(bytes(16 << 20)))
    result = probe_file(str(tmp_path / "z.gz"), "z.gz", QualityLimits(max_unpacked_bytes=1 << 20))
    assert result["flags"] == ["bomb"]


def test_unreadable_files_are_flagged_not_raised(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.txt")  # opening a FIFO for reading would block a naive reader
    assert probe_file(str(tmp_path / "pipe.txt"), "pipe.txt", QualityLimits())["flags"] == ["unreadable"]
    gone = probe_file(str(tmp_path / "gone.png"), "gone.png", QualityLimits())
    assert gone["flags"] == ["unreadable"] and gone["content_hash"] == ""


def test_corrupt_docx_member_fails_its_crc(samples: Path, tmp_path: Path, good_files: dict) -> None:
    data = bytearray(good_files["letter.docx"][0])
    at = data.find(b"word/document.xml") + 40
    data[at:at + 16] = bytes(16)
    (tmp_path / "bad.docx").write_bytes(bytes(data))
    assert probe_file(str(tmp_path / "bad.docx"), "bad.docx", QualityLimits())["flags"] == ["corrupt"]


def test_duplicates_and_near_duplicates_across_files(tmp_path: Path) -> None:
    """A real photograph (scikit-learn's bundled china.jpg), copied, re-toned, re-encoded."""
    from PIL import Image, ImageEnhance
    from sklearn.datasets import load_sample_image

    root = tmp_path / "root"
    (root / "a").mkdir(parents=True)
    photo = Image.fromarray(load_sample_image("china.jpg")).resize((160, 107))
    photo.save(root / "a" / "1.png")
    shutil.copy(root / "a" / "1.png", root / "a" / "2.png")  # exact copy
    ImageEnhance.Contrast(photo).enhance(0.8).save(root / "a" / "3.png")  # same picture, other bytes
    photo.resize((120, 80)).save(root / "a" / "4.jpg", quality=60)
    photo.transpose(Image.FLIP_LEFT_RIGHT).save(root / "a" / "5.png")  # a different picture
    Image.fromarray(load_sample_image("flower.jpg")).resize((160, 107)).save(root / "a" / "6.png")
    with Catalog(tmp_path / "c.sqlite") as catalog:
        report = scan_folder(root, catalog, workers=0)
    flags = {r.path: r.flags for r in report.records}
    assert flags["a/1.png"] == ()
    assert flags["a/2.png"] == ("duplicate",)
    assert flags["a/3.png"] == ("near_duplicate",)
    assert flags["a/4.jpg"] == ("near_duplicate",)
    assert flags["a/5.png"] == ()
    assert flags["a/6.png"] == ()
    near = {r.path: r.meta.get("near_duplicate_of") for r in report.records}
    assert near["a/3.png"] == "a/1.png"


def test_mark_duplicates_is_order_independent(samples: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    for name in ("b.txt", "a.txt", "c.txt"):
        shutil.copy(samples / "good" / "story.txt", root / name)
    with Catalog(tmp_path / "c.sqlite") as catalog:
        records = scan_folder(root, catalog, workers=0).records
    for order in (records, records[::-1]):
        marked = {r.path: r.flags for r in mark_duplicates(list(order))}
        assert marked == {"a.txt": (), "b.txt": ("duplicate",), "c.txt": ("duplicate",)}


def test_limits_reject_unknown_names() -> None:
    from training_lib.errors import DataError

    with pytest.raises(DataError, match="max_pixel"):
        QualityLimits.from_kwargs(max_pixel=5)
    assert QualityLimits.from_kwargs(max_pixels=5).max_pixels == 5


def test_real_world_oddities_are_not_flaws(tmp_path: Path, good_files: dict) -> None:
    """Bytes after a JPEG's or PNG's end (motion photos, appended archives), a RIFF size
    that counts the whole file, a .md file with little markup: all good files."""
    jpeg, png, wav = good_files["photo.jpg"][0], good_files["picture.png"][0], bytearray(good_files["speech.wav"][0])
    wav[4:8] = len(wav).to_bytes(4, "little")  # some writers store the file size itself
    cases = {"motion.jpg": jpeg + bytes(4000) + b"\x00\x00\x00\x18ftypmp42" + bytes(70_000),
             "appended.png": png + b"PK\x03\x04" + bytes(500), "sloppy.wav": bytes(wav),
             "notes.md": b"Just a few plain sentences about the project, nothing else.\n"}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        result = probe_file(str(tmp_path / name), name, QualityLimits())
        assert result["flags"] == [], (name, result["flags"])
    assert probe_file(str(tmp_path / "notes.md"), "notes.md", QualityLimits())["format"] == "markdown"


def test_audio_only_mp4_is_audio_and_decoded_by_ffmpeg(samples: Path) -> None:
    result = probe_file(str(samples / "good" / "voice.m4a"), "voice.mp4", QualityLimits())
    assert (result["type"], result["format"]) == ("audio", "m4a")
    assert result["meta"]["duration_s"] == pytest.approx(0.6, abs=0.15)  # AAC adds priming samples
    assert result["flags"] == []  # .mp4 and .m4a name one container family


def test_a_stray_nul_keeps_text_as_text(tmp_path: Path) -> None:
    from tests.fixtures.sample_files import PROSE

    (tmp_path / "log.txt").write_bytes(PROSE * 20 + b"\x00" + PROSE)
    result = probe_file(str(tmp_path / "log.txt"), "log.txt", QualityLimits())
    assert result["type"] == "text" and "undecodable_bytes" in result["flags"]
