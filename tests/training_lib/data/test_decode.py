"""One verdict on encoding: what the scan says of a text file is what the loaders read.

Each file below is scanned, then read by the loader of its type in the encoding the
catalog recorded (`decode.read_text`, the decoder the checks and features use too).
"""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tests.fixtures.loader_files import request
from training_lib.data.catalog import Catalog
from training_lib.data.decode import decode_text, guess_encoding, is_utf8, read_text
from training_lib.data.loaders.json_records import iter_records
from training_lib.data.loaders.registry import load_dataset
from training_lib.data.scan.scanner import scan_folder

PROSE = ("Caf\u00e9 cr\u00e8me \u2014 \u201cna\u00efve\u201d fa\u00e7ade, se\u00f1or. "
         "The quick brown fox jumps over the lazy dog.\n")
RUSSIAN = "Привет, как дела? Это текст на русском.\n"
RECORDS = [{"problem": f"{i}+{i % 7}", "answer": str(i + i % 7)} for i in range(80)]
TABLE = "a,b,target\n" + "".join(f"{i},{i * 2 % 11},{i % 2}\n" for i in range(60))

# name -> (bytes, encoding the scan records, flags it raises)
CASES: dict[str, tuple[bytes, str | None, list[str]]] = {
    "cp1252.txt": ((PROSE * 3).encode("cp1252"), "cp1252", ["non_utf8_encoding"]),
    "cp1252.json": (json.dumps([{**r, "note": "fa\u00e7ade"} for r in RECORDS], ensure_ascii=False)
                    .encode("cp1252"), "cp1252", ["non_utf8_encoding"]),
    "utf16.txt": ((PROSE * 3 + "utf-16\n").encode("utf-16"), "utf-16-le", ["non_utf8_encoding"]),
    "utf16.json": (json.dumps(RECORDS[:60]).encode("utf-16"), "utf-16-le", ["non_utf8_encoding"]),
    "utf16.csv": (TABLE.encode("utf-16"), "utf-16-le", ["non_utf8_encoding"]),
    "bom.json": (b"\xef\xbb\xbf" + json.dumps(RECORDS[:70]).encode(), "utf-8", []),
    "bom.txt": (b"\xef\xbb\xbf" + (PROSE * 3 + "bom\n").encode(), "utf-8", []),
    "cp1251.txt": ((RUSSIAN * 3).encode("cp1251"), "cp1251", ["non_utf8_encoding"]),
    "damaged.txt": (b"The quick brown fox \x81\x8d jumps over \x9d\xff the lazy dog. " * 4,
                    "utf-8", ["undecodable_bytes"]),
    "garbage.txt": (bytes(random.Random(0).randrange(256) for _ in range(2000)), None,
                    ["undecodable_bytes"]),
}


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("enc") / "data"
    root.mkdir()
    for name, (data, _, _) in CASES.items():
        (root / name).write_bytes(data)
    with Catalog(root.parent / "c.sqlite") as catalog:
        report = scan_folder(root, catalog, workers=0)
    return root, {r.path: r for r in report.records}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_scan_records_the_encoding_and_flags_text_that_is_not_utf8(scanned, name: str) -> None:
    _, records = scanned
    _, encoding, flags = CASES[name]
    rec = records[name]
    assert rec.meta.get("encoding") == encoding
    # text near-duplicates of each other (same words, other bytes) are a separate verdict
    assert [f for f in rec.flags if f != "near_duplicate"] == flags
    if flags == ["non_utf8_encoding"]:
        assert rec.score == 0.9  # mild: still above any sensible quality floor


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_loaders_read_what_the_scan_judged(scanned, name: str, tmp_path: Path) -> None:
    """The scan's verdict and the loader's result agree for every file."""
    root, records = scanned
    rec = records[name]
    encoding = rec.meta.get("encoding")
    usable = "undecodable_bytes" not in rec.flags
    if rec.type == "json":
        items = list(iter_records(root / name, None, encoding))
        assert items == json.loads(CASES[name][0].decode(encoding).lstrip("\ufeff"))
        assert rec.meta["n_records"] == len(items)
    elif rec.type == "tabular":
        data = load_dataset("tables", request("table_model", root, [rec], tmp_path / "cache"))
        assert rec.meta["columns"] == ["a", "b", "target"] == data.info["columns"]
        assert sum(data.size(s) for s in ("train", "val", "test")) == rec.meta["n_rows"] == 60
    elif usable:
        text = read_text(root / name, encoding)
        assert text.lstrip() and "\ufffd" not in text and "\ufeff" not in text
        assert text == decode_text(CASES[name][0], encoding)[0]
        assert "Caf\u00e9" in text or "Привет" in text
    else:  # what the scan calls undecodable reads with replacement characters, as flagged
        assert "\ufffd" in read_text(root / name, encoding)


def test_a_utf16_json_file_the_scan_accepts_is_loaded(scanned, tmp_path: Path) -> None:
    root, records = scanned
    rec = records["utf16.json"]
    assert rec.meta["record_format"] == "arithmetic" and rec.score >= 0.5
    data = load_dataset("arithmetic", request("math_model", root, [rec], tmp_path / "cache"))
    assert sum(data.size(s) for s in ("train", "val", "test")) == 60


def test_guess_encoding_takes_scripts_not_stray_bytes() -> None:
    assert guess_encoding((RUSSIAN * 3).encode("cp1251")) == "cp1251"
    assert guess_encoding(("\u3053\u308c\u306f\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8"
                           "\u3067\u3059\u3002" * 4).encode("shift_jis")) == "cp932"
    assert guess_encoding(b"The quick brown fox \xff\xfe\xfd jumps over the lazy dog.") is None
    assert is_utf8("utf-8") and is_utf8(None) and not is_utf8("utf-16-le")
