"""Each retry of a training, from the run's fault record and the round's metrics events:
which try failed and how, the step it had reached, the checkpoint the next try resumed
from and the steps lost in between. `retry_line` says it in one line:

    vision_service: try 1 killed (signal 9) at step 340 on w1 (cpu); try 2 resumed from
    checkpoint 300, lost 40 steps

The CLI summary and the report list these lines; the numbers are those
`stack/fault_demo.py` prints while it watches a kill and the retry.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from training_lib.runs.files import read_jsonl
from training_lib.runs.folder import RunFolder

# fault kinds that end a try (a migration or an injected fault does not)
ENDS_A_TRY = ("killed", "crashed", "stalled", "lost", "out_of_memory", "unhealthy_node")


def retries_of(faults: Iterable[dict[str, Any]], events: Iterable[dict[str, Any]],
               model: str, round_index: int) -> list[dict[str, Any]]:
    """The tries of one model's round that failed, each with what the next try did."""
    events = list(events)
    started = {int(e.get("try", 1)) for e in events if e.get("event") == "start"}
    resumed = {int(e.get("try", 1)): e.get("from_step") for e in events
               if e.get("event") == "resumed"}
    out = []
    for fault in faults:
        if (fault.get("model"), fault.get("round", 1)) != (model, round_index) or \
                fault.get("kind") not in ENDS_A_TRY:
            continue
        failed_try = int(fault.get("try") or 1)
        nxt = failed_try + 1
        step = fault.get("step")
        from_step = resumed.get(nxt, 0 if nxt in started else None)
        lost = (step - from_step if isinstance(step, int) and isinstance(from_step, int)
                else None)
        out.append({"model": model, "round": round_index, "try": failed_try,
                    "kind": fault.get("kind"), "step": step, "signal": fault.get("signal"),
                    "host": fault.get("host"), "device": fault.get("device"),
                    "next_try": nxt, "next_started": nxt in started, "resumed_from": from_step,
                    "lost_steps": max(0, lost) if lost is not None else None})
    return sorted(out, key=lambda r: r["try"])


def run_retries(run_dir: Path) -> list[dict[str, Any]]:
    """Every failed try of every model and round of the run in `run_dir`."""
    folder = RunFolder(run_dir)
    faults = read_jsonl(folder.faults)
    found = []
    for round_folder in folder.rounds():
        found += retries_of(faults, (e for e in read_jsonl(round_folder.metrics) if "event" in e),
                            round_folder.model, round_folder.index)
    return found


def retry_line(r: dict[str, Any]) -> str:
    """One line: how a try ended, where the next one resumed, what was lost."""
    who = r["model"] + (f" round {r['round']}" if r.get("round", 1) != 1 else "")
    how = r["kind"] + (f" (signal {r['signal']})" if r.get("signal") else "")
    at = f" at step {r['step']}" if r.get("step") is not None else ""
    where = f" on {r.get('host') or '?'} ({r.get('device') or '?'})"
    if not r["next_started"]:
        then = f"no try {r['next_try']} ran"
    elif r["resumed_from"]:
        then = f"try {r['next_try']} resumed from checkpoint {r['resumed_from']}"
    else:
        then = f"try {r['next_try']} started over from step 0"
    lost = f", lost {r['lost_steps']} steps" if r.get("lost_steps") is not None else ""
    return f"{who}: try {r['try']} {how}{at}{where}; {then}{lost}"
