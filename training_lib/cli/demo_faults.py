"""`demo-faults --preset NAME [--data DIR] [--model MODEL]`: run a preset on the stack,
SIGKILL one model's training process mid-epoch, show the retry resume from its newest
checkpoint, and print the faults the run recorded (what `make demo-faults` runs)."""
from __future__ import annotations

import argparse
import time


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("demo-faults", help="kill a training task mid-epoch and watch "
                                                "the retry resume (needs `make up`)")
    parser.add_argument("--preset", default="quick_start")
    parser.add_argument("--data", default=None, help="data folder (overrides data_root)")
    parser.add_argument("--model", default=None,
                        help="model to kill (default: the first one to reach mid-epoch)")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from training_lib.errors import TrainingLibError
    from training_lib.stack import control
    from training_lib.stack.fault_demo import run_fault_demo
    from training_lib.stack.summary import summary_lines

    if not control.airflow_healthy():
        raise TrainingLibError("no Airflow stack is up: `make up` starts one (the kill needs "
                               "the real scheduler to retry the task)")
    start = time.monotonic()
    conf = {"data_folder": args.data} if args.data else {}
    run_id, state = run_fault_demo(args.preset, conf, args.model, timeout=args.timeout)
    print("\n".join(summary_lines(args.preset, run_id, stack_up=True, state=state,
                                  seconds=time.monotonic() - start)))
    return 0 if state == "success" else 1
