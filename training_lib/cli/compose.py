"""`compose new-env|check|mlflow-ini|mlflow-account`: the docker-compose topology's secrets."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ACTIONS = {
    "new-env": "print a docker/.env with fresh secrets (redirect it to docker/.env)",
    "check": "check a docker/.env: every secret set, not a placeholder, long enough",
    "mlflow-ini": "(in the mlflow container) write the basic-auth ini to PATH",
    "mlflow-account": "(in the mlflow-init container) create the pipeline's MLflow login",
}


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("compose", help="secrets of docker/docker-compose.yaml",
                            description="; ".join(f"{k}: {v}" for k, v in ACTIONS.items()))
    parser.add_argument("action", choices=tuple(ACTIONS))
    parser.add_argument("path", nargs="?", type=Path,
                        help="check: the env file (docker/.env); mlflow-ini: the ini to write")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from training_lib.stack import compose

    if args.action == "new-env":
        sys.stdout.write(compose.new_env())
        return 0
    if args.action == "mlflow-account":
        compose.ensure_account()
        print("MLflow service account ready")
        return 0
    if args.path is None:
        print(f"compose {args.action}: give a path", file=sys.stderr)
        return 2
    if args.action == "mlflow-ini":
        compose.write_mlflow_ini(args.path)
        return 0
    if not args.path.is_file():
        print(f"{args.path}: no such file; create it with "
              f"`python -m training_lib compose new-env > {args.path}`", file=sys.stderr)
        return 1
    problems = compose.check_env(compose.read_env_file(args.path))
    for problem in problems:
        print(f"{args.path}: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"{args.path}: every secret is set")
    return 0
