"""`rollback MODEL [--to VERSION]`, `history MODEL`, `versions MODEL`."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    rb = sub.add_parser("rollback", help="point a model's champion alias at an earlier version")
    rb.add_argument("model")
    rb.add_argument("--to", dest="version", default=None,
                    help="version number (default: the 'previous' alias)")
    rb.add_argument("--why", default="", help="reason recorded in the history")
    rb.set_defaults(func=run_rollback)
    hist = sub.add_parser("history", help="promotions and rollbacks of a model")
    hist.add_argument("model")
    hist.set_defaults(func=run_history)
    ver = sub.add_parser("versions", help="a model's versions with their tags and aliases")
    ver.add_argument("model")
    ver.set_defaults(func=run_versions)


def run_rollback(args: argparse.Namespace) -> int:
    from training_lib.registry.rollback import rollback

    done = rollback(args.model, args.version, args.why)
    print(f"{done['model']}: champion v{done['from']} -> v{done['to']} ({done['reason']})")
    return 0


def run_history(args: argparse.Namespace) -> int:
    from training_lib.registry.rollback import history

    moves = history(args.model)
    if not moves:
        print(f"{args.model}: no promotion or rollback recorded")
    for m in moves:
        print(f"{m['time']:25} {m['who']:10} {m['action']:9} {m['alias']:10} "
              f"v{m['from']} -> v{m['to']}  {m['why']}")
    return 0


def run_versions(args: argparse.Namespace) -> int:
    from training_lib.registry.rollback import versions

    for v in versions(args.model):
        print(f"v{v['version']:<4} {v['status']:12} {','.join(v['aliases']):20} {v['reason']}")
    return 0
