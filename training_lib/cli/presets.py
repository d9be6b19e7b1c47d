"""`presets [list]`, `presets check` (validate all, DAG files present) and `presets sync`
(write the two-line DAG file of every preset that lacks one)."""
from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

from training_lib import settings

DAG_FILE = '''"""Airflow DAG of presets/{name}.yaml (written by `python -m training_lib presets sync`)."""
from tlib_airflow.dag_builder import build_preset_dag

dag = build_preset_dag(__file__)
'''
NOT_PRESETS = {"rollback"}  # DAG files of dags/ that are not built from a preset


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("presets", help="list presets; `check` validates; `sync` writes DAG files")
    parser.add_argument("action", nargs="?", choices=("list", "check", "sync", "markdown"), default="list")
    parser.add_argument("--dir", type=Path, default=None, help="presets folder")
    parser.add_argument("--dags", type=Path, default=None, help="DAG folder (default dags/)")
    parser.set_defaults(func=run)


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
        print("| preset | models | epochs | rounds | schedule | what it is for |")
        print("|---|---|---|---|---|---|")
        for name in sorted(good):
            s = good[name].settings
            models = "auto (routing decides)" if s.target_models == "auto" else ", ".join(
                good[name].models)
            print(f"| `{name}` | {models} | {s.epochs} | {s.rounds} | {s.schedule or '-'} | "
                  f"{' '.join(s.description.split())} |")
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
