"""`label-issues RUN`: the likely mislabeled training files a run found, per model.

    python -m training_lib label-issues quick_start/manual__2026-01-01T00:00:00+00:00
    python -m training_lib label-issues var/runs/quick_start/manual__... --model vision_service

Each classifier whose training rows are files looks for them after training
(pipeline/reference_step.py): its classical reference is cross-validated on the train
split and cleanlab flags the rows whose label those out-of-sample probabilities doubt.
"""
from __future__ import annotations

import argparse
from typing import Any

from training_lib.cli.report import resolve_run_dir


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("label-issues", help="likely mislabeled training files of a run")
    parser.add_argument("run", help="a run folder, or DAG_ID/RUN_ID of a run in the run store")
    parser.add_argument("--model", help="only this model")
    parser.set_defaults(func=run)


def issue_lines(model: str, data: dict[str, Any]) -> list[str]:
    lines = [f"{model}: {data['n_flagged']} of {data['n_train']} training files look "
             f"mislabeled ({data['method']})"]
    for issue in data["issues"]:
        where = ", ".join(issue.get("files") or []) or f"row {issue.get('row')}"
        lines.append(f"  {where}  given {issue['given']!r}, suggested {issue['suggested']!r} "
                     f"(confidence {issue['confidence']:.3f})")
    return lines


def run(args: argparse.Namespace) -> int:
    from training_lib.runs.files import read_json
    from training_lib.runs.folder import RunFolder

    folder = RunFolder(resolve_run_dir(args.run))
    found: dict[str, dict[str, Any]] = {}
    for round_folder in folder.rounds(args.model):  # a later round replaces an earlier one
        data = read_json(round_folder.label_issues, None)
        if data is not None:
            found[round_folder.model] = data
    if not found:
        what = f"model {args.model!r} of " if args.model else ""
        print(f"no label issues recorded for {what}{folder.path} (classifiers whose training "
              "rows are files look for them after training)")
        return 0
    for model, data in sorted(found.items()):
        print("\n".join(issue_lines(model, data)))
    return 0
