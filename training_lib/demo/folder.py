"""The demo data folder: real content of every kind the models consume, ~10% flawed.

`make_demo_data(out)` writes it and a hidden `.demo-manifest.json` holding the truth
of every file (type, format, label, the flags a correct scan raises), which the
tests and `bench/scan.py` score the scanner against. Sources are listed in
`demo.media`, `demo.text` and `demo.records`; flaws in `demo.flaws`.

    python -m training_lib demo-data --out data/demo
"""
from __future__ import annotations

import json
import logging
import os
import random
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from training_lib.demo import (flaws as demo_flaws, media as demo_media, records as demo_records,
                               text as demo_text)
from training_lib.errors import DataError

log = logging.getLogger(__name__)

MANIFEST = ".demo-manifest.json"
VERSION = 1


def install_missing(allow: bool = True) -> dict[str, str]:
    """Install the Debian packages the demo uses when missing (root + apt-get only).
    Returns {package: why it is still missing}."""
    need = []
    if demo_media.espeak_binary() is None:
        need.append("espeak-ng")
    if not all((demo_text.FORTUNES_DIR / c).is_file() for c in demo_text.CATEGORIES):
        need.append("fortunes")
    if not need:
        return {}
    if not allow:
        return {p: "not installed (installation not allowed)" for p in need}
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return {p: "not installed (needs root and apt-get)" for p in need}
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *need]
    log.info("installing %s", " ".join(need))
    for attempt in range(2):
        if attempt:
            subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, timeout=300)
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        if done.returncode == 0:
            break
    still = {}
    if "espeak-ng" in need and demo_media.espeak_binary() is None:
        still["espeak-ng"] = "apt-get could not install it"
    if "fortunes" in need and not (demo_text.FORTUNES_DIR / demo_text.CATEGORIES[0]).is_file():
        still["fortunes"] = "apt-get could not install it"
    return still


def _prepare(out: Path) -> None:
    manifest = out / MANIFEST
    if manifest.is_file():
        try:
            old = json.loads(manifest.read_text())
        except (OSError, ValueError) as e:
            raise DataError(f"{manifest}: unreadable demo manifest ({e}); remove {out} by hand") from e
        for rel in old.get("files", {}):
            (out / rel).unlink(missing_ok=True)
        for folder in sorted((p for p in out.rglob("*") if p.is_dir()), reverse=True):
            if not any(folder.iterdir()):
                folder.rmdir()
        manifest.unlink()
    elif out.exists() and any(out.iterdir()):
        raise DataError(f"{out} exists and holds files that are not demo data; choose an empty "
                        f"folder or remove it")
    out.mkdir(parents=True, exist_ok=True)


def make_demo_data(out: Path, *, seed: int = 0, audio_per_word: int = 60, text_per_category: int = 150,
                   install: bool = True) -> dict[str, Any]:
    """Write the demo folder at `out` (replacing an earlier demo there); returns a summary
    with counts per kind, the seconds each part took and what was missing."""
    from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine

    t0 = time.perf_counter()
    out = Path(out)
    _prepare(out)
    missing = install_missing(install)
    timings: dict[str, float] = {"install": round(time.perf_counter() - t0, 2)}
    # The parts that depend on the machine (which source files exist, whether espeak-ng is
    # installed) draw from their own generators, so that they cannot shift what the others
    # draw: the same seed gives byte-identical files for everything else.
    rng = random.Random(seed)
    truth: dict[str, dict[str, Any]] = {}
    good: dict[str, list[tuple[str, str, str]]] = {k: [] for k in
                                                   ("image", "audio", "text", "video", "document", "records")}

    def step(name: str) -> None:
        timings[name] = round(time.perf_counter() - t0 - sum(timings.values()), 2)

    digits = load_digits()
    good["image"] = demo_media.write_digits(out, digits)
    step("images")
    if "espeak-ng" not in missing:
        good["audio"] = demo_media.write_speech(out, audio_per_word, _part_rng(seed, "audio"))
    step("audio")
    corpus, text_source = demo_text.text_corpus(text_per_category)
    good["text"] = demo_text.write_texts(out, corpus)
    code, code_missing = demo_text.write_code(out, 30, _part_rng(seed, "code"))
    good["document"] = demo_text.write_documents(out, corpus, pdfs=12, docxs=8, rng=rng)
    step("text_code_documents")
    good["records"] = _write_records(out, rng, digits, load_iris(), load_wine(), load_breast_cancer())
    step("records_tables")
    good["video"] = demo_media.write_clips(out, digits, 4, rng)
    step("video")
    flaw_truth, removed = demo_flaws.make_flaws(out, good, rng)
    step("flaws")
    types = {"image": "image", "audio": "audio", "text": "text", "video": "video", "document": "document"}
    for kind, items in good.items():
        for rel, fmt, label in items:
            if kind == "records":
                type_ = "tabular" if fmt in ("csv", "tsv") else "json"
                truth[rel] = {"type": type_, "format": fmt, "label": None, "flags": []}
            else:
                truth[rel] = {"type": types[kind], "format": fmt, "label": label, "flags": []}
    for rel, _lang, label in code:
        truth[rel] = {"type": "code", "format": label, "label": label, "flags": []}
    truth.update(_write_pairs(out, good, rng))
    for rel in removed:
        truth.pop(rel, None)
    truth.update(flaw_truth)
    step("pairs")
    (out / MANIFEST).write_text(json.dumps({"version": VERSION, "seed": seed, "files": truth},
                                           indent=0, sort_keys=True))
    by_type: dict[str, int] = {}
    for item in truth.values():
        by_type[item["type"]] = by_type.get(item["type"], 0) + 1
    if code_missing:
        missing["code languages"] = ", ".join(code_missing) + " (no source files found on this machine)"
    summary = {"out": str(out), "files": len(truth), "flawed": len(flaw_truth), "by_type": by_type,
               "text_source": text_source, "missing": missing, "seconds": timings,
               "total_seconds": round(time.perf_counter() - t0, 2)}
    log.info("demo data: %d files (%d flawed) in %.1f s at %s", len(truth), len(flaw_truth),
             summary["total_seconds"], out)
    return summary


def _part_rng(seed: int, part: str) -> random.Random:
    return random.Random(f"{seed}/{part}")  # str seeds hash with sha512: stable across runs


def _write_records(out: Path, rng: random.Random, digits: Any, iris: Any, wine: Any,
                   cancer: Any) -> list[tuple[str, str, str]]:
    r = demo_records
    written: list[tuple[str, str, str]] = []
    plan = (("math", "arithmetic", r.arithmetic(3000, rng)),
            ("logic", "propositions", r.propositions(3000, rng)),
            ("concepts", "environment_ball", r.environment(2500, rng)),
            ("concepts", "strategy_learning_rate", r.strategy(2000, rng)),
            ("concepts", "features_digits", r.features(digits)))
    for folder, stem, items in plan:
        parts = 5 if len(items) >= 2500 else 2
        size = -(-len(items) // parts)
        for k in range(parts):
            chunk = items[k * size:(k + 1) * size]
            as_array = k == parts - 1
            rel = f"{folder}/{stem}_{k}.{'json' if as_array else 'jsonl'}"
            (r.write_json if as_array else r.write_jsonl)(out / rel, chunk)
            written.append((rel, "json" if as_array else "jsonl", folder))
    for name, bunch, delimiter in (("iris", iris, ","), ("wine", wine, ","), ("breast_cancer", cancer, "\t")):
        rel = f"tables/{name}.{'tsv' if delimiter == chr(9) else 'csv'}"
        r.write_table(out / rel, bunch, delimiter)
        written.append((rel, "tsv" if delimiter == "\t" else "csv", "tables"))
    return written


_CAPTIONS = ("A handwritten {word}, the digit {digit} (scan {scan}), with the word spoken aloud by "
             "the {voice} voice at {speed} words per minute.",
             "The number {word} ({digit}): scanned digit {scan} and a {voice} voice saying it at "
             "{speed} words per minute.",
             "Digit {digit}. Image {scan} of a handwritten {word}; audio of espeak-ng's {voice} voice "
             "saying \"{word}\", pitch {pitch}.",
             "Handwritten {digit} (sample {scan}) paired with the spoken word {word} ({voice}, "
             "{speed} wpm, pitch {pitch}).")


def _write_pairs(out: Path, good: dict[str, list[tuple[str, str, str]]], rng: random.Random,
                 per_digit: int = 30) -> dict[str, dict[str, Any]]:
    """captions/caption_<n>.txt and pairs.jsonl linking image, audio and caption of one digit."""
    if not good["audio"]:
        return {}
    images: dict[str, list[str]] = {}
    for rel, _fmt, label in good["image"]:
        images.setdefault(label, []).append(rel)
    clips: dict[str, list[str]] = {}
    for rel, _fmt, word in good["audio"]:
        clips.setdefault(word, []).append(rel)
    truth: dict[str, dict[str, Any]] = {}
    lines = []
    (out / "captions").mkdir(exist_ok=True)
    # each image once, so that every caption (which names its scan) is a distinct text
    picks = {d: rng.sample(images[d], min(per_digit, len(images[d]))) for d in images}
    for n in range(per_digit * 10):
        digit = n % 10
        word = demo_media.WORDS[digit]
        # with few clips per word, the flaws may have taken every clip of one word
        if n // 10 >= len(picks[str(digit)]) or not clips.get(word):
            continue
        caption = f"captions/caption_{n:03d}.txt"
        image, clip = picks[str(digit)][n // 10], rng.choice(clips[word])
        voice, speed, pitch = Path(clip).stem.rsplit("_", 2)
        scan = Path(image).stem.rsplit("_", 1)[-1]
        text = rng.choice(_CAPTIONS).format(word=word, digit=digit, scan=scan, voice=voice.replace("_", "+"),
                                            speed=speed, pitch=pitch)
        (out / caption).write_text(text + "\n")
        truth[caption] = {"type": "text", "format": "plain", "label": None, "flags": []}
        lines.append(json.dumps({"image": image, "audio": clip, "text": caption, "label": str(digit)}))
    (out / "pairs.jsonl").write_text("\n".join(lines) + "\n")
    truth["pairs.jsonl"] = {"type": "json", "format": "jsonl", "label": None, "flags": []}
    return truth


def load_manifest(root: Path) -> dict[str, dict[str, Any]]:
    """The truth of a demo folder (path -> type, format, label, flags)."""
    path = Path(root) / MANIFEST
    try:
        return json.loads(path.read_text())["files"]
    except (OSError, ValueError, KeyError) as e:
        raise DataError(f"{path}: not a demo manifest ({e})") from e
