"""Under contention for one training slot, urgent and small jobs start first: three
trainings queued behind a closed pool start in priority_weight order once it opens."""
from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.slow
TRAINS = ["vision_service.train", "logic_model.train", "math_model.train"]  # urgency 9, 5, 1


def test_start_order_follows_urgency(live_stack):
    run_id = live_stack.trigger("priority_slots")
    deadline = time.time() + 300
    closed = False
    while time.time() < deadline:
        states = live_stack.states("priority_slots", run_id)
        if not closed and states["allocate_resources"]["state"] == "success":
            live_stack.set_pool("tlib_cpu", 0)  # hold every training until all three queue up
            closed = True
        if closed and all(states[t]["state"] == "scheduled" for t in TRAINS):
            break
        assert not any(states[t]["state"] in ("running", "success") for t in TRAINS), \
            "a training started before the pool was closed"
        time.sleep(0.5)
    else:
        raise AssertionError(f"trainings never all queued: {states}")
    weights = [states[t]["priority_weight"] for t in TRAINS]
    assert weights == sorted(weights, reverse=True)
    live_stack.set_pool("tlib_cpu", 1)
    assert live_stack.wait_run("priority_slots", run_id) == "success"
    states = live_stack.states("priority_slots", run_id)
    starts = [states[t]["start_date"] for t in TRAINS]
    assert starts == sorted(starts), dict(zip(TRAINS, starts))
    ends = [states[t]["end_date"] for t in TRAINS]
    assert ends[0] <= starts[1] and ends[1] <= starts[2]  # one slot: one at a time
