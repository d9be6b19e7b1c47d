"""`demo-data --out data/demo`: write the demo data folder (real content, ~10% flawed)."""
from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("demo-data", help="write the demo data folder (digits, speech, text, "
                                              "records, tables, code, documents, video, flaws)")
    parser.add_argument("--out", type=Path, default=Path("data/demo"), help="folder to write")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--audio-per-word", type=int, default=60, help="spoken clips per digit word")
    parser.add_argument("--text-per-category", type=int, default=150)
    parser.add_argument("--no-install", action="store_true",
                        help="do not apt-get install missing espeak-ng/fortunes")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from training_lib.demo.folder import make_demo_data

    summary = make_demo_data(args.out, seed=args.seed, audio_per_word=args.audio_per_word,
                             text_per_category=args.text_per_category, install=not args.no_install)
    print(f"demo data at {summary['out']}: {summary['files']} files, {summary['flawed']} deliberately "
          f"flawed, in {summary['total_seconds']} s (text from {summary['text_source']})")
    print("  by type: " + ", ".join(f"{k} {v}" for k, v in sorted(summary["by_type"].items())))
    print("  seconds: " + ", ".join(f"{k} {v}" for k, v in summary["seconds"].items()))
    for what, why in summary["missing"].items():
        print(f"  MISSING {what}: {why}")
    return 0
