"""Loaders of decoded media: audio, texts, code and paired samples, on small real files
decoded by the real FeatureCache."""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from tests.fixtures.loader_files import (digit_label, record, request, write, write_digit,
                                               write_tone)
from training_lib.config.schema import Preprocessing
from training_lib.data.loaders.registry import load_dataset, loaders
from training_lib.data.records import split_of
from training_lib.errors import NoDataForModel

SENTENCES = {
    "cooking": ["Simmer the onions slowly in butter until golden.",
                "Knead the dough and let it rise for an hour.",
                "Season the soup with salt, pepper and fresh thyme.",
                "Roast the vegetables at a high heat until crisp."],
    "weather": ["Heavy rain is expected over the hills tonight.",
                "A cold front brings wind and falling temperatures.",
                "Clear skies and light winds through the weekend.",
                "Fog will lift by late morning near the coast."],
}


def test_new_loaders_are_registered():
    assert {"audio", "texts", "code", "pairs", "environment", "strategy", "features",
            "tables"} <= set(loaders())


def test_audio_gives_log_mels_by_class_folder_and_skips_bad_files(tmp_path, caplog):
    root = tmp_path / "data"
    records = []
    for label, base in (("low", 300.0), ("high", 2000.0)):
        for i in range(14):
            rel = f"audio/{label}/tone_{i}.wav"
            write_tone(root, rel, base + 15 * i, phase=i / 7)
            records.append(record(root, rel, "audio", "wav", label))
    write(root, "audio/low/broken.wav", b"RIFF\x00\x00garbage, not a wave file")
    records.append(record(root, "audio/low/broken.wav", "audio", "wav", "low"))
    data = load_dataset("audio", request("audio_service", root, records, tmp_path / "cache"))
    assert data.classes == ["high", "low"]
    assert sum(data.size(s) for s in ("train", "val", "test")) == 28  # the broken one skipped
    assert "broken.wav" in caplog.text
    assert data.x["train"].dtype == np.float32 and data.x["train"].shape[1] == 40
    assert data.info == {"n_mels": 40, "frames": data.x["train"].shape[2]}
    expected = {r.path: split_of(r.content_hash, (0.15, 0.25)) for r in records[:-1]}
    assert data.size("test") == sum(1 for s in expected.values() if s == "test")
    # a low tone and a high tone differ where their energy is
    low = data.x["train"][data.y["train"] == 1].mean(axis=(0, 2))
    high = data.x["train"][data.y["train"] == 0].mean(axis=(0, 2))
    assert np.argmax(low) < np.argmax(high)


def test_texts_byte_ids_and_too_little_data(tmp_path):
    root = tmp_path / "data"
    records = []
    for label, lines in SENTENCES.items():
        for i in range(12):
            rel = f"text/{label}/{i}.txt"
            write(root, rel, f"{lines[i % 4]} ({i})\n")
            records.append(record(root, rel, "text", "plain", label, encoding="utf-8"))
    data = load_dataset("texts", request("causal_reasoning_engine", root, records,
                                         tmp_path / "cache",
                                         preprocessing=Preprocessing(text_max_length=32)))
    assert data.x["train"].shape[1:] == (32,) and data.x["train"].dtype == np.int32
    assert data.info["vocab_size"] == 257
    first = records[0]
    ids = np.frombuffer((root / first.path).read_bytes()[:32], np.uint8).astype(np.int32) + 1
    assert any(np.array_equal(r, ids) for s in ("train", "val", "test") for r in data.x[s])
    with pytest.raises(NoDataForModel, match="needs at least 20"):
        load_dataset("texts", request("causal_reasoning_engine", root, records[:6] + records[12:18],
                                      tmp_path / "cache"))
    one_class = [r for r in records if r.label == "cooking"]
    with pytest.raises(NoDataForModel, match="at least 2"):
        load_dataset("texts", request("causal_reasoning_engine", root, one_class, tmp_path / "c2"))


def test_code_reads_512_bytes_and_falls_back_to_the_detected_language(tmp_path):
    root = tmp_path / "data"
    records = []
    for i in range(12):
        rel = f"code/python/m{i}.py"
        write(root, rel, f'"""Module {i}."""\nimport os\n\n\ndef f{i}(x):\n    return x + {i}\n')
        records.append(record(root, rel, "code", "python", "python", language="python"))
        rel = f"code/c/h{i}.h"
        write(root, rel, f"#ifndef H{i}\n#define H{i}\nint f{i}(int x);\n#endif\n")
        records.append(record(root, rel, "code", "c", "c", language="c"))
    write(root, "loose/script.py", "import sys\nprint(sys.argv)\n")
    records.append(record(root, "loose/script.py", "code", "python", None, language="python"))
    data = load_dataset("code", request("code_model", root, records, tmp_path / "cache"))
    assert data.classes == ["c", "python"]
    assert data.x["train"].shape[1] == 512
    assert sum(data.size(s) for s in ("train", "val", "test")) == 25


def _pairs_folder(root, n=24):
    """images/<d>, audio/<d> tones, captions/ and pairs.jsonl linking them."""
    records, lines = [], []
    for i in range(n):
        label = digit_label(i)
        img = f"images/{label}/d{i}.png"
        write_digit(root, img, i)
        records.append(record(root, img, "image", "png", str(label)))
        clip = f"audio/{label}/c{i}.wav"
        write_tone(root, clip, 200.0 + 100 * label, phase=i / 5)
        records.append(record(root, clip, "audio", "wav", str(label)))
        caption = f"captions/c{i}.txt"
        write(root, caption, f"A handwritten {label}, number {label}.\n")  # not in the manifest
        lines.append({"image": img, "audio": clip, "text": caption, "label": str(label)})
    lines[0] = {**lines[0], "audio": "audio/missing.wav"}  # a partial sample
    lines[1] = {**lines[1], "text": "../outside.txt"}  # a link out of the root is ignored
    write(root, "pairs.jsonl", "\n".join(json.dumps(line) for line in lines) + "\n")
    records.append(record(root, "pairs.jsonl", "json", "jsonl", None, record_format="pairs"))
    return records, lines


def test_pairs_zero_fill_missing_modalities_and_flag_presence(tmp_path):
    root = tmp_path / "data"
    records, lines = _pairs_folder(root)
    data = load_dataset("pairs", request("multimodal_service", root, records, tmp_path / "cache"))
    xs = {k: np.concatenate([data.x[s][k] for s in ("train", "val", "test") if data.size(s)])
          for k in ("image", "audio", "text", "present")}
    assert len(xs["present"]) == 24
    assert xs["image"].shape[1:] == (32, 32, 3) and xs["image"].dtype == np.uint8
    assert xs["audio"].shape[1] == 40 and xs["text"].dtype == np.int32
    missing = xs["present"].min(axis=0)
    assert missing.tolist() == [1.0, 0.0, 0.0]  # every image present; one audio, one text not
    assert int((xs["present"][:, 1] == 0).sum()) == 1 and int((xs["present"][:, 2] == 0).sum()) == 1
    absent_audio = xs["audio"][xs["present"][:, 1] == 0]
    assert not absent_audio.any()  # zero-filled
    # captions were not routed (no class folder) and were probed: their bytes are there
    assert (xs["text"][xs["present"][:, 2] == 1] > 0).any(axis=1).all()
    assert data.classes == sorted({line["label"] for line in lines})
    caption = hashlib.sha256((root / lines[5]["text"]).read_bytes()).hexdigest()
    assert records[-1].content_hash in data.sources and caption in data.sources


def test_pairs_without_a_manifest_is_no_data(tmp_path):
    root = tmp_path / "data"
    records, _ = _pairs_folder(root, n=4)
    records = [r for r in records if r.type != "json"]
    with pytest.raises(NoDataForModel, match="pairs manifest"):
        load_dataset("pairs", request("multimodal_service", root, records, tmp_path / "cache"))
