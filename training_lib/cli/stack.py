"""`stack up|down|status` (what `make up`, `make down`, `make status` run)."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("stack", help="start/stop/show the embedded Airflow + MLflow")
    parser.add_argument("action", choices=("up", "down", "status"))
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from training_lib.stack import control

    if args.action == "up":
        return control.up(args.timeout)
    if args.action == "down":
        return control.down()
    return control.status()
