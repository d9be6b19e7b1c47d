"""A corpus the demo generator did not make, for bench/model_family_vs_reference.py.

    python bench/make_real_corpus.py OUT [--per-class N] [--seed S]

- text/<package>/*.txt: docstrings (at least 80 characters) of functions and classes in
  the Python sources of six installed packages, read with `ast` (nothing imported):
  numpy, scipy, sklearn, pandas, matplotlib, sqlalchemy; the class is the package;
- code/<language>/*: real source files found on this machine by extension (.py from
  site-packages, .c, .h (C headers), .js, .pl, .sh, .tcl, .sql), none of the names the
  demo generator copied into --exclude (it takes its files from the same machine);
- logic/propositions.jsonl: 3,000 propositions from a generator unlike the demo's
  (symbols & | ! ^ -> in one third, ∧ ∨ ¬ ⊕ → with 1/0 in one third, AND OR NOT XOR
  IMPLIES with true/false in the rest; depth 1-4; xor and implication besides and, or,
  not; only the parentheses precedence needs), answers from the generator's own tree.
"""
from __future__ import annotations

import argparse
import ast
import json
import random
import sys
from pathlib import Path

SITE = Path(sys.prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" \
    / "site-packages"
PACKAGES = ("numpy", "scipy", "sklearn", "pandas", "matplotlib", "sqlalchemy")
LANGUAGES = {"python": ("py",), "c": ("c",), "c_header": ("h",), "javascript": ("js",),
             "perl": ("pl",), "shell": ("sh",), "tcl": ("tcl",), "sql": ("sql",)}


def docstrings(package: str, rng: random.Random, n: int) -> list[str]:
    files = sorted((SITE / package).rglob("*.py"))
    rng.shuffle(files)
    out: list[str] = []
    for path in files:
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                doc = ast.get_docstring(node)
                if doc and len(doc) >= 80:
                    out.append(doc)
        if len(out) >= 4 * n:
            break
    rng.shuffle(out)
    return out[:n]


def source_files(extensions: tuple[str, ...], demo_names: set[str], rng: random.Random,
                 n: int) -> list[Path]:
    roots = [SITE] if extensions == ("py",) else [Path("/usr"), SITE]
    found = []
    for root in roots:
        for ext in extensions:
            found += [p for p in root.rglob(f"*.{ext}") if p.is_file() and p.name not in demo_names
                      and 1_000 <= p.stat().st_size <= 200_000]
    found = sorted(set(found))
    rng.shuffle(found)
    return found[:n]


SPELLINGS = (
    {"and": "&", "or": "|", "not": "!", "xor": "^", "imp": "->", True: "T", False: "F",
     "space": ""},
    {"and": "∧", "or": "∨", "not": "¬", "xor": "⊕", "imp": "→", True: "1", False: "0",
     "space": " "},
    {"and": "AND", "or": "OR", "not": "NOT ", "xor": "XOR", "imp": "IMPLIES", True: "true",
     False: "false", "space": " "},
)
LEVEL = {"imp": 0, "or": 1, "xor": 2, "and": 3}  # loosest first; not binds tightest


def proposition(depth: int, rng: random.Random) -> tuple:
    if depth == 0 or rng.random() < 0.2:
        leaf = ("const", rng.random() < 0.5)
        return ("not", leaf) if rng.random() < 0.25 else leaf
    op = rng.choice(("and", "and", "or", "or", "xor", "imp"))
    node = (op, proposition(depth - 1, rng), proposition(depth - 1, rng))
    return ("not", node) if rng.random() < 0.15 else node


def truth(node: tuple) -> bool:
    kind = node[0]
    if kind == "const":
        return node[1]
    if kind == "not":
        return not truth(node[1])
    a, b = truth(node[1]), truth(node[2])
    return {"and": a and b, "or": a or b, "xor": a != b, "imp": (not a) or b}[kind]


def spell(node: tuple, style: dict, parent: int = -1, right_side: bool = False) -> str:
    kind = node[0]
    if kind == "const":
        return style[node[1]]
    if kind == "not":
        return style["not"] + spell(node[1], style, 99)  # a binary operand gets parentheses
    level = LEVEL[kind]
    # implication binds right to left, the others left to right
    right_assoc = kind == "imp"
    left = spell(node[1], style, level + (1 if right_assoc else 0))
    right = spell(node[2], style, level + (0 if right_assoc else 1))
    sp = style["space"]
    text = f"{left}{sp}{style[kind]}{sp}{right}"
    return f"({text})" if level < parent else text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--per-class", type=int, default=150)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--exclude", type=Path, help="a demo data folder: none of its code "
                        "files' names are taken")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    counts: dict[str, dict[str, int]] = {"text": {}, "code": {}}
    for package in PACKAGES:
        folder = args.out / "text" / package
        folder.mkdir(parents=True, exist_ok=True)
        docs = docstrings(package, rng, args.per_class)
        for i, doc in enumerate(docs):
            (folder / f"{package}_{i:04d}.txt").write_text(doc + "\n", encoding="utf-8")
        counts["text"][package] = len(docs)
    demo_names = ({p.name for p in args.exclude.glob("code/*/*")} if args.exclude else set())
    for language, extensions in LANGUAGES.items():
        folder = args.out / "code" / language
        folder.mkdir(parents=True, exist_ok=True)
        files = source_files(extensions, demo_names, rng, args.per_class // 2)
        for i, path in enumerate(files):
            (folder / f"{i:03d}_{path.name}").write_bytes(path.read_bytes())
        counts["code"][language] = len(files)
    logic = args.out / "logic"
    logic.mkdir(parents=True, exist_ok=True)
    with open(logic / "propositions.jsonl", "w", encoding="utf-8") as fh:
        for i in range(3000):
            node = proposition(rng.randint(1, 4), rng)
            style = SPELLINGS[i % 3]
            fh.write(json.dumps({"proposition": spell(node, style), "answer": truth(node)},
                                ensure_ascii=False) + "\n")
    print(json.dumps({"corpus": str(args.out), **counts, "propositions": 3000}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
