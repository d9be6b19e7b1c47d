"""`scan DATA_DIR`: inspect a data folder, update the catalog, print and save a quality report."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from training_lib.data.labels import LabelGroup


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("scan", help="detect types and quality of every file of a data folder")
    parser.add_argument("data_dir", type=Path, help="the data root to scan")
    parser.add_argument("--include", action="append", default=None, metavar="GLOB",
                        help="keep only paths matching (repeatable; default **/*)")
    parser.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                        help="drop paths matching (repeatable)")
    parser.add_argument("--hidden", action="store_true", help="also scan hidden files and folders")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE",
                        help="also write one JSON record per file (JSON Lines)")
    parser.add_argument("--report", type=Path, default=None, metavar="FILE.html",
                        help="HTML quality report (default: <store>/scan_reports/<root>.html)")
    parser.add_argument("--catalog", type=Path, default=None, metavar="DB",
                        help="catalog SQLite file (default: <store>/catalog.sqlite)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: CPUs)")
    parser.add_argument("--time-limit", type=float, default=None, metavar="S",
                        help="per-file inspection limit in seconds (default 20)")
    parser.add_argument("--floor", type=float, default=0.5, help="quality floor for 'usable' counts")
    parser.add_argument("--min-class-files", type=int, default=5, metavar="N",
                        help="a class folder needs at least N files of its type (the preset "
                             "key min_class_files; default 5)")
    parser.set_defaults(func=run)


class _Progress:
    """A one-line progress bar on stderr (a line every 10% when stderr is not a terminal)."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.t0 = time.perf_counter()
        self.last = -1.0

    def __call__(self, done: int, total: int) -> None:
        share = done / total if total else 1.0
        now = time.perf_counter()
        if self.tty:
            if now - self.last < 0.1 and done < total:
                return
            self.last = now
            bar = "#" * int(share * 30)
            print(f"\rscanning [{bar:<30}] {done}/{total} {now - self.t0:5.1f}s", end="",
                  file=sys.stderr, flush=True)
            if done >= total:
                print(file=sys.stderr)
        elif int(share * 10) > self.last:
            self.last = int(share * 10)
            print(f"scanning {done}/{total} ({share:.0%})", file=sys.stderr, flush=True)


def labels_text(groups: list[LabelGroup], min_class_files: int, limit: int = 40) -> str:
    """The label set inferred per folder, or why none, for the user to check before
    training (a preset's `datasets: [{path: ..., labels: ...}]` overrides it)."""
    labelled = [g for g in groups if g.classes]
    unlabelled = [g for g in groups if not g.classes]
    lines = [f"labels (class folders of >= {min_class_files} files; records are labelled by "
             "their fields; declare `labels:` in a preset's datasets to override)"]
    for g in [*labelled, *unlabelled][:limit]:
        lines.append(f"  {g.line()}")
        lines += [f"      {note}" for note in g.notes()[:6]]
    if len(groups) > limit:
        lines.append(f"  ... {len(groups) - limit} more folders without classes")
    if not labelled:
        lines.append("  no class folders found: every file is unlabelled")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from training_lib import settings
    from training_lib.data.quality import report as quality_report
    from training_lib.data.catalog import Catalog, default_catalog
    from training_lib.data.scan.scanner import scan_folder

    limits = {"time_limit_s": args.time_limit} if args.time_limit is not None else {}
    catalog = Catalog(args.catalog) if args.catalog else default_catalog()
    try:
        report = scan_folder(args.data_dir, catalog, include=tuple(args.include or ("**/*",)),
                             exclude=tuple(args.exclude), skip_hidden=not args.hidden,
                             progress=_Progress(), workers=args.workers,
                             min_class_files=args.min_class_files, **limits)
    finally:
        catalog.close()
    print(quality_report.summary_text(report, args.floor))
    print("\n" + labels_text(report.labels, args.min_class_files))
    html_path = args.report or settings.store_dir() / "scan_reports" / f"{settings.safe_name(str(report.root))}.html"
    quality_report.write_html(report, html_path, args.floor)
    print(f"\ncatalog: {catalog.db_path}\nreport:  {html_path}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        with open(args.json, "w", encoding="utf-8") as fh:
            for item in report.json_lines():
                fh.write(json.dumps(item, default=str) + "\n")
        labels_path = args.json.with_name(args.json.stem + ".labels.json")
        labels_path.write_text(json.dumps([g.to_json() for g in report.labels], indent=1))
        print(f"json:    {args.json}\nlabels:  {labels_path}")
    return 0
