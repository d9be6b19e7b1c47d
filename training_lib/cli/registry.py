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
    from training_lib.registry.aliases import v
    from training_lib.registry.rollback import rollback

    done = rollback(args.model, args.version, args.why)
    print(f"{done['model']}: champion {v(done['from'])} -> {v(done['to'])} ({done['reason']})")
    return 0


def run_history(args: argparse.Namespace) -> int:
    from training_lib.registry.aliases import v
    from training_lib.registry.rollback import history, status_history

    moves = history(args.model)
    if not moves:
        print(f"{args.model}: no promotion or rollback recorded")
    for m in moves:
        when = f"{m['time']}{' (noticed)' if m['noticed'] else ''}"
        print(f"{when:31} {m['who'][:28]:28} {m['action']:8} {m['alias']:10} "
              f"{v(m['from']):>5} -> {v(m['to']):5}  {m['why']}")
    changes = status_history(args.model)
    if changes:
        print("\nstatus changes:")
    for c in changes:
        print(f"{c['time']:31} {c['who'][:28]:28} {c['action']:8} v{c['version']:<9} "
              f"{c['from'] or 'none':>11} -> {c['to']:11}  {c['why']}")
    return 0


def run_versions(args: argparse.Namespace) -> int:
    from training_lib.registry.rollback import versions

    for row in versions(args.model):
        print(f"v{row['version']:<4} {row['status']:12} {','.join(row['aliases']):20} "
              f"{row['reason']}")
    return 0
