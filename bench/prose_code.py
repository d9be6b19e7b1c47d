"""Prose told from code, on real files this project did not write.

    python bench/prose_code.py [--seed 0] [--show 10]

Two corpora, sampled from files on this machine (sorted paths, then `random.Random(seed)`),
skipping files under 200 bytes, symlinks, binaries (a NUL in the first 8 KiB) and exact
duplicates (by content):

prose  documentation: /usr/share/doc (README*, NEWS*, changelog*, AUTHORS, THANKS, TODO,
       copyright, *.txt, *.md, *.rst; the .gz ones decompressed into a temp folder under
       their name without .gz; examples/ folders and requirements files left out),
       /usr/share/common-licenses, and in .venv site-packages *.md, *.rst, METADATA,
       LICENSE* / COPYING* / NOTICE* / AUTHORS* / README* (tests/ folders left out).
code   source files: .venv site-packages *.py, /usr/include *.h, /usr/share *.sh, *.js,
       *.c and (apart) *.pl, *.pm, scripts in /usr/bin (a "#!" line), and in site-packages
       *.c, *.cc, *.cpp, *.hpp, *.js, *.sh.

Each file goes through `sniff_path` twice: under its own name (the extension a hint)
and under an empty name (content alone). Prints, per corpus and per source: files,
% typed text, % typed code, % other, and the first misclassified paths; ends with one
JSON line {"bench": "prose_code", ...}. "(quoting code)" is the hard part of the prose
corpus: the files that `code_language.detect` alone calls code. Goal: >= 99.5% of prose typed text and >= 99.5%
of code typed code.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import random
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from training_lib.data.detect import code_language  # noqa: E402
from training_lib.data.detect.sniff import HEAD_BYTES, sniff_path  # noqa: E402
from training_lib.data.detect.text_sniff import decode_sample  # noqa: E402

SITE = ROOT / ".venv" / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
MIN_BYTES = 200
GOAL = 0.995

_DOC_NAME = re.compile(r"^(readme|news|changelog|changes|history|authors|thanks|todo|copyright)([.\-_].*)?$"
                       r"|\.(txt|md|rst)$", re.IGNORECASE)
_LICENSE_NAME = re.compile(r"^(license|licence|copying|notice|authors|readme)([.\-_].*)?$|^metadata$"
                           r"|\.(md|rst)$", re.IGNORECASE)
_NOT_PROSE = re.compile(r"(^|/)(examples?|tests?)/|(^|/)requirements[^/]*\.txt$|(^|/)build_signature[^/]*$"
                        r"|\.(json|html?|xml|py|sh|c|h|pl|js|css|pdf|ps)(\.|$)", re.IGNORECASE)


@dataclass(frozen=True)
class Source:
    corpus: str  # prose | code
    label: str
    root: Path
    wanted: Callable[[str], bool]  # on the path relative to root
    cap: int
    shebang: bool = False  # only files that start with "#!" (scripts among binaries)


SOURCES = (
    Source("prose", "usr-share-doc", Path("/usr/share/doc"),
           lambda rel: bool(_DOC_NAME.search(_plain_name(rel))) and not _NOT_PROSE.search(rel.removesuffix(".gz")),
           2500),
    Source("prose", "common-licenses", Path("/usr/share/common-licenses"), lambda rel: True, 100),
    Source("prose", "site-packages-docs", SITE,
           lambda rel: bool(_LICENSE_NAME.search(rel.rsplit("/", 1)[-1])) and not _NOT_PROSE.search(rel), 1000),
    Source("code", "site-packages-py", SITE, lambda rel: rel.endswith(".py"), 1500),
    Source("code", "usr-include-h", Path("/usr/include"), lambda rel: rel.endswith(".h"), 1000),
    Source("code", "usr-share-sh-js-c", Path("/usr/share"), lambda rel: rel.endswith((".sh", ".js", ".c")), 400),
    Source("code", "usr-share-perl", Path("/usr/share"), lambda rel: rel.endswith((".pl", ".pm")), 400),
    Source("code", "usr-bin-scripts", Path("/usr/bin"), lambda rel: True, 400, shebang=True),
    Source("code", "site-packages-c-js", SITE,
           lambda rel: rel.endswith((".c", ".cc", ".cpp", ".hpp", ".js", ".sh")), 500),
)


def _plain_name(rel: str) -> str:
    return rel.rsplit("/", 1)[-1].removesuffix(".gz")


def _candidates(source: Source) -> list[str]:
    found = []
    for folder, dirs, files in os.walk(source.root):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, source.root)
            if not os.path.islink(path) and source.wanted(rel):
                found.append(rel)
    return found


def _read(path: Path) -> bytes | None:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as fh:
                return fh.read()
        return path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile):
        return None


def build_corpora(seed: int, tmp: Path, pools: dict[str, int] | None = None) -> dict[str, list[tuple[str, str, Path]]]:
    """corpus -> [(source label, original path, path to sniff)], gz files decompressed under tmp;
    `pools` receives each source's number of candidate paths."""
    corpora: dict[str, list[tuple[str, str, Path]]] = {"prose": [], "code": []}
    seen: set[str] = set()
    for source in SOURCES:
        rng = random.Random(f"{seed}:{source.label}")
        pool = _candidates(source)
        if pools is not None:
            pools[source.label] = len(pool)
        rng.shuffle(pool)
        taken = 0
        for rel in pool:
            if taken >= source.cap:
                break
            original = source.root / rel
            data = _read(original)
            if data is None or len(data) < MIN_BYTES or b"\x00" in data[:8192]:
                continue
            if source.shebang and not data.startswith(b"#!"):
                continue
            digest = hashlib.sha1(data).hexdigest()
            if digest in seen:
                continue
            seen.add(digest)
            path = original
            if original.suffix == ".gz":
                path = tmp / source.label / rel.removesuffix(".gz")
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            corpora[source.corpus].append((source.label, str(original), path))
            taken += 1
    return corpora


def quotes_code(path: Path) -> bool:
    """True when a code-language detector alone would call this file code: the hard cases."""
    text = decode_sample(path.read_bytes()[:HEAD_BYTES], True)[0]
    return text is not None and code_language.detect(text[:8192])[0] is not None


def score(items: list[tuple[str, str, Path]], expected: str, hinted: bool, hard: set[Path]) -> dict:
    counts = {"text": 0, "code": 0, "other": 0}
    by_source: dict[str, dict[str, int]] = {}
    wrong = []
    for label, original, path in items:
        found = sniff_path(path, path.name if hinted else "")
        kind = found.type if found.type in ("text", "code") else "other"
        counts[kind] += 1
        for key in (label, "(quoting code)") if path in hard else (label,):
            row = by_source.setdefault(key, {"files": 0, "right": 0})
            row["files"] += 1
            row["right"] += kind == expected
        if kind != expected:
            wrong.append(f"{original} -> {found.type}/{found.format}")
    n = len(items) or 1
    return {"files": len(items), "text": counts["text"] / n, "code": counts["code"] / n,
            "other": counts["other"] / n, "right": counts[expected] / n,
            "by_source": by_source, "wrong": wrong}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--show", type=int, default=10, help="misclassified paths to print per run")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-prose-code-") as tmp:
        pools: dict[str, int] = {}
        corpora = build_corpora(args.seed, Path(tmp), pools)
        summary: dict = {"bench": "prose_code", "seed": args.seed}
        for corpus, expected in (("prose", "text"), ("code", "code")):
            items = corpora[corpus]
            sources = {label: sum(1 for item in items if item[0] == label) for label, _, _ in items}
            print(f"{corpus} corpus: {len(items)} files "
                  f"({', '.join(f'{k} {v} of {pools[k]} candidates' for k, v in sources.items())})")
            hard = {path for _, _, path in items if corpus == "prose" and quotes_code(path)}
            if hard:
                print(f"  {len(hard)} of them quote code that a language detector alone calls code")
                summary[f"{corpus}_quoting_code_files"] = len(hard)
            for hinted in (True, False):
                result = score(items, expected, hinted, hard)
                how = "with name" if hinted else "content only"
                print(f"  {how:12}: text {result['text']:.2%}  code {result['code']:.2%}  "
                      f"other {result['other']:.2%}  -> {expected} {result['right']:.2%} "
                      f"({len(result['wrong'])} wrong)")
                for label, row in result["by_source"].items():
                    print(f"    {label:20} {row['right']}/{row['files']} ({row['right'] / row['files']:.2%})")
                for line in result["wrong"][:args.show]:
                    print(f"    wrong: {line}")
                key = f"{corpus}_{'hinted' if hinted else 'content'}"
                summary[f"{key}_files"] = result["files"]
                summary[f"{key}_{expected}"] = round(result["right"], 4)
                summary[f"{key}_other"] = round(result["other"], 4)
                if hard:
                    row = result["by_source"]["(quoting code)"]
                    summary[f"{key}_quoting_code_{expected}"] = round(row["right"] / row["files"], 4)
        summary["goal_met"] = all(summary[k] >= GOAL for k in ("prose_hinted_text", "code_hinted_code"))
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
