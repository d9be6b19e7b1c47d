"""Each failed try in one line: how it ended, the step reached, where the next try resumed,
the steps lost (from faults.jsonl and the round's metrics events)."""
from __future__ import annotations

import json

from training_lib.runs.context import start_run
from training_lib.runs.faults import record_fault
from training_lib.runs.retries import retry_line, run_retries


def _events(path, *events):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(e) + "\n" for e in events))


def test_killed_try_resumed_from_a_checkpoint_and_a_try_that_started_over(tmp_path):
    ctx = start_run("retries_test", "r-1", "quick_start", {"data_folder": str(tmp_path)})
    _events(ctx.round("vision_service").metrics,
            {"event": "start", "try": 1}, {"step": 340, "try": 1, "loss": 0.5},
            {"event": "start", "try": 2}, {"event": "resumed", "try": 2, "from_step": 300},
            {"event": "fit_done", "try": 2, "resumed_from_step": 300})
    _events(ctx.round("math_model").metrics,
            {"event": "start", "try": 1}, {"event": "start", "try": 2})
    record_fault(ctx, model="vision_service", round=1, **{"try": 1}, host="w1", device="cpu",
                 kind="killed", step=340, signal=9, error="vision_service: killed")
    record_fault(ctx, model="vision_service", round=1, **{"try": 1}, host="w1", device="gpu:0",
                 kind="migrated", step=None, error="moved")  # does not end a try
    record_fault(ctx, model="math_model", round=1, **{"try": 1}, host="w2", device="cpu",
                 kind="stalled", step=12, error="math_model: no step")
    record_fault(ctx, model="math_model", round=1, **{"try": 2}, host="w2", device="cpu",
                 kind="out_of_memory", step=5, error="math_model: OOM")
    lines = [retry_line(r) for r in run_retries(ctx.run_dir)]
    assert lines == [
        "math_model: try 1 stalled at step 12 on w2 (cpu); try 2 started over from step 0, "
        "lost 12 steps",
        "math_model: try 2 out_of_memory at step 5 on w2 (cpu); no try 3 ran",
        "vision_service: try 1 killed (signal 9) at step 340 on w1 (cpu); try 2 resumed from "
        "checkpoint 300, lost 40 steps",
    ]
