"""Type detection: every supported type from real encoders, the extension only a hint."""
from __future__ import annotations

from pathlib import Path

import pytest

from training_lib.data.detect.sniff import sniff, sniff_path
from tests.fixtures.sample_files import PROSE


def test_every_type_is_detected_from_content(samples: Path, good_files: dict) -> None:
    wrong = {}
    for name, (_, type_, fmt) in good_files.items():
        found = sniff_path(samples / "good" / name)
        if (found.type, found.format) != (type_, fmt) or found.flags:
            wrong[name] = (found.type, found.format, found.flags)
    assert wrong == {}


def test_content_wins_over_a_misleading_name(samples: Path, good_files: dict) -> None:
    """Each good file renamed "data.bin" keeps its type; named with another type's extension
    it is flagged wrong_extension."""
    for name, (data, type_, fmt) in good_files.items():
        if name.startswith(("utf16", "latin1", "story")):
            continue  # plain text has no signature: a neutral name says nothing either way
        assert (sniff(data, "data.bin").type, sniff(data, "data.bin").format) == (type_, fmt), name
    assert sniff(good_files["picture.png"][0], "cat.jpg").flags == ["wrong_extension"]
    assert sniff(good_files["speech.flac"][0], "song.wav").flags == ["wrong_extension"]
    assert sniff(good_files["table.csv"][0], "notes.txt").flags == ["wrong_extension"]
    assert sniff(good_files["picture.png"][0], "cat.png").flags == []


def test_same_container_family_is_not_a_wrong_extension(good_files: dict) -> None:
    assert sniff(good_files["clip.mov"][0], "clip.mp4").flags == []
    assert sniff(good_files["clip.mkv"][0], "clip.webm").flags == []
    assert sniff(good_files["photo.jpg"][0], "photo.jpeg").flags == []


def test_encodings(good_files: dict) -> None:
    assert sniff(good_files["utf16.txt"][0], "a.txt").meta["encoding"] == "utf-16-le"
    assert sniff("x = 1\n".encode("utf-16-be"), "a.txt").meta["encoding"] == "utf-16-be"
    assert sniff(good_files["latin1.txt"][0], "a.txt").meta["encoding"] == "cp1252"
    assert sniff(PROSE, "a.txt").meta["encoding"] == "utf-8"
    assert sniff(b"\xef\xbb\xbf" + PROSE, "a.txt").meta["encoding"] == "utf-8"


def test_undecodable_bytes_are_flagged_not_guessed_as_latin1() -> None:
    damaged = PROSE[:50] + b"\xff\xfe\xfd" + PROSE[50:]
    assert "undecodable_bytes" in sniff(damaged, "a.txt").flags
    mixed = "caf\u00e9 ".encode() + "na\u00efve".encode("latin-1") + b" " + PROSE
    assert "undecodable_bytes" in sniff(mixed, "a.txt").flags


@pytest.mark.parametrize("text, language", [
    ("import os\n\n\ndef main() -> None:\n    print(os.getcwd())\n\n\nif __name__ == '__main__':\n    main()\n",
     "python"),
    ("package main\n\nimport \"fmt\"\n\nfunc main() {\n\tx := 1\n\tfmt.Println(x)\n}\n", "go"),
    ("use strict;\nuse warnings;\n\nsub greet {\n    my ($name) = @_;\n    print \"hi $name\\n\";\n}\n", "perl"),
    ("const fs = require('fs');\nfunction read(p) {\n  return fs.readFileSync(p, 'utf8');\n}\n"
     "module.exports = { read };\n", "javascript"),
    ("CREATE TABLE users (\n  id INTEGER PRIMARY KEY,\n  name TEXT\n);\nINSERT INTO users VALUES (1, 'a');\n"
     "SELECT name FROM users WHERE id = 1;\n", "sql"),
    ("#!/usr/bin/env bash\necho hi\n", "shell"),
])
def test_source_languages(text: str, language: str) -> None:
    found = sniff(text.encode(), "snippet")
    assert (found.type, found.format, found.meta["language"]) == ("code", language, language)


def test_prose_with_commas_or_tabs_stays_text() -> None:
    poem = (b"Roses are red, violets are blue,\nsugar is sweet, and so are you.\n"
            b"The rain, it falls; the wind, it blows,\nand where it goes, nobody knows.\n"
            b"A line, with commas, three of them, here.\n")
    assert sniff(poem, "poem.txt").type == "text"
    dialogue = b"Pete:\tWaiter, this meat is bad.\nWaiter:\tWho told you?\nPete:\tA little swallow.\n"
    assert sniff(dialogue, "joke").type == "text"


def test_json_and_jsonl_and_broken_json() -> None:
    assert sniff(b'{"a": [1, 2]}', "x.json").format == "json"
    assert sniff(b'{"a": 1}\n{"a": 2}\n', "x.json").format == "jsonl"
    broken = sniff(b'{"a": 1, "b": [1, 2', "x.json")
    assert (broken.type, broken.flags) == ("json", ["invalid_json"])
    assert sniff(b"[link](http://x) is markdown, not JSON\n\n# Title\n\n- a\n- b\n", "x.md").type == "text"


def test_empty_and_binary_junk() -> None:
    assert sniff(b"", "a.png").flags == ["empty"]
    junk = sniff(bytes(range(256)) * 4, "blob.dat")
    assert (junk.type, junk.flags) == ("unknown", [])
    assert sniff(bytes(range(256)) * 4, "photo.png").flags == ["corrupt"]


def test_bomb_header_is_flagged_from_dimensions_alone() -> None:
    from training_lib.demo.flaws import bmp_bomb, png_bomb

    found = sniff(png_bomb(100_000, 100_000), "big.png")
    assert (found.meta["width"], found.meta["height"]) == (100_000, 100_000)
    assert found.flags == ["bomb"]
    assert sniff(bmp_bomb(60_000, 60_000), "big.bmp").flags == ["bomb"]
    assert sniff(png_bomb(100, 100), "small.png", max_pixels=10_000).flags == []


def test_header_facts(samples: Path) -> None:
    png = sniff_path(samples / "good" / "picture.png")
    assert (png.meta["width"], png.meta["height"]) == (32, 32)
    jpg = sniff_path(samples / "good" / "photo.jpg")
    assert (jpg.meta["width"], jpg.meta["height"]) == (32, 32)
    wav = sniff_path(samples / "good" / "speech.wav")
    assert wav.meta["sample_rate"] == 16000 and wav.meta["channels"] == 1
    assert wav.meta["duration_s"] == pytest.approx(0.6, abs=0.01)
    flac = sniff_path(samples / "good" / "speech.flac")
    assert flac.meta["duration_s"] == pytest.approx(0.6, abs=0.01)


def test_big_file_is_sniffed_from_head_and_tail(tmp_path: Path, good_files: dict) -> None:
    """A file larger than the head keeps its type, and its end marker is still checked."""
    png = good_files["picture.png"][0]
    big = png[:33] + b"\x00\x00\x00\x00" + b"zzzz" + bytes(200_000) + png[33:]  # a huge unknown chunk
    (tmp_path / "big.png").write_bytes(big)
    assert sniff_path(tmp_path / "big.png").flags == []
    (tmp_path / "cut.png").write_bytes(big[:150_000])
    assert sniff_path(tmp_path / "cut.png").flags == ["truncated"]
