"""`presets [list]`, `presets check` (validate all, DAG files present) and `presets sync`
(write the two-line DAG file of every preset that lacks one)."""
from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path
from typing import Any

from training_lib import settings
from training_lib.errors import PresetError

DAG_FILE = '''"""Airflow DAG of presets/{name}.yaml (written by `python -m training_lib presets sync`)."""
from tlib_airflow.dag_builder import build_preset_dag

dag = build_preset_dag(__file__)
'''
NOT_PRESETS = {"rollback"}  # DAG files of dags/ that are not built from a preset


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("presets", help="list presets; `check` validates; `sync` writes DAG files")
    parser.add_argument("action", nargs="?", choices=("list", "check", "sync", "markdown"), default="list")
    parser.add_argument("--readme", type=Path, default=None,
                        help="markdown: rewrite the table in this file (README.md) between its "
                             "marker comments instead of printing it")
    parser.add_argument("--dir", type=Path, default=None, help="presets folder")
    parser.add_argument("--dags", type=Path, default=None, help="DAG folder (default dags/)")
    parser.set_defaults(func=run)


TABLE_BEGIN = ("<!-- presets table: generated from presets/*.yaml by "
               "`python -m training_lib presets markdown --readme README.md`; do not edit -->")
TABLE_END = "<!-- end of presets table -->"


def markdown_table(presets: dict[str, Any]) -> str:
    """The README's table of presets (name, models, epochs, rounds, schedule, description)."""
    lines = ["| preset | models | epochs | rounds | schedule | what it is for |",
             "|---|---|---|---|---|---|"]
    for name in sorted(presets):
        s = presets[name].settings
        models = "auto (routing decides)" if s.target_models == "auto" else ", ".join(
            presets[name].models)
        lines.append(f"| `{name}` | {models} | {s.epochs} | {s.rounds} | {s.schedule or '-'} | "
                     f"{' '.join(s.description.split())} |")
    return "\n".join(lines) + "\n"


def table_in(text: str, where: Path | str = "README.md") -> str:
    """The generated block of `text` (between the marker comments)."""
    begin, end = text.find(TABLE_BEGIN), text.find(TABLE_END)
    if begin < 0 or end < begin:
        raise PresetError(f"{where}: no presets table between {TABLE_BEGIN!r} and "
                          f"{TABLE_END!r}")
    return text[begin + len(TABLE_BEGIN):end].strip("\n") + "\n"


def with_table(text: str, table: str, where: Path | str = "README.md") -> str:
    """`text` with its generated block replaced by `table`."""
    table_in(text, where)  # the markers are there
    begin, end = text.find(TABLE_BEGIN) + len(TABLE_BEGIN), text.find(TABLE_END)
    return text[:begin] + "\n" + table + text[end:]


def dag_files_missing(names: list[str], dags: Path) -> list[str]:
    return [n for n in names if not (dags / f"{n}.py").exists()]


def run(args: argparse.Namespace) -> int:
    from training_lib.config import load_all

    good, bad = load_all(args.dir)
    dags = args.dags or settings.project_root() / "dags"
    names = sorted([*good, *bad])
    if args.action == "sync":
        for name in dag_files_missing(names, dags):
            (dags / f"{name}.py").write_text(DAG_FILE.format(name=name))
            print(f"wrote {dags / (name + '.py')}")
        return 0
    if args.action == "markdown":
        if bad:
            for error in bad.values():
                print(f"BROKEN  {error}", file=sys.stderr)
            return 1
        table = markdown_table(good)
        if args.readme is None:
            print(table, end="")
            return 0
        args.readme.write_text(with_table(args.readme.read_text(), table, args.readme))
        print(f"wrote the presets table of {args.readme}")
        return 0
    if args.action == "check":
        for name in sorted(good):
            print(f"ok      {name}")
        for error in bad.values():
            print(f"BROKEN  {error}", file=sys.stderr)
        missing = dag_files_missing(names, dags)
        orphans = sorted(p.stem for p in dags.glob("*.py")
                         if p.stem not in names and p.stem not in NOT_PRESETS
                         and not p.stem.startswith("_"))
        for name in missing:
            print(f"NO DAG  {name}: run `python -m training_lib presets sync`", file=sys.stderr)
        for name in orphans:
            print(f"ORPHAN  dags/{name}.py has no presets/{name}.yaml", file=sys.stderr)
        print(f"{len(good)} valid, {len(bad)} broken, {len(missing)} without DAG file")
        return 1 if bad or missing or orphans else 0
    width = max((len(n) for n in names), default=10)
    for name in names:
        if name in bad:
            print(f"{name:<{width}}  BROKEN: {str(bad[name]).splitlines()[0]}")
            continue
        s = good[name].settings
        models = "auto" if s.target_models == "auto" else ", ".join(good[name].models)
        print(f"{name:<{width}}  {textwrap.shorten(s.description, 100)}\n{'':<{width}}  "
              f"models: {models}; epochs {s.epochs}" + (f"; schedule {s.schedule}" if s.schedule else ""))
    return 0
