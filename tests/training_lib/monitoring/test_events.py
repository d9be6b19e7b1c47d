"""anomalies.jsonl: events appended, outcomes merged in by id, cut lines skipped."""
from __future__ import annotations

from training_lib.monitoring.events import AnomalyEvent, EventStore, read_events, run_events
from training_lib.runs.folder import RunFolder


def _event(i: int, model: str = "m", time: float = 1.0) -> AnomalyEvent:
    return AnomalyEvent(id=f"{model}/{i}", model=model, round=1, step=10 * i, since_step=10 * i,
                        kind="nan", severity="critical", action="rollback", message="x",
                        time=time)


def test_outcome_lines_merge_into_their_event(tmp_path):
    store = EventStore(tmp_path / "anomalies.jsonl")
    store.append(_event(1))
    store.append(_event(2))
    store.update("m/1", outcome="rolled back to 0", rolled_back_to=0)
    with open(store.path, "a") as fh:
        fh.write('{"id": "m/3", "kind": "na')  # cut by a kill
    events = read_events(store.path)
    assert [e["id"] for e in events] == ["m/1", "m/2"]
    assert events[0]["outcome"] == "rolled back to 0" and events[0]["rolled_back_to"] == 0
    assert events[1]["outcome"] is None


def test_run_events_collects_every_model_oldest_first(tmp_path):
    for model, t in (("b", 5.0), ("a", 9.0)):
        EventStore(RunFolder(tmp_path).round(model).anomalies).append(
            _event(1, model, t))
    assert [e["model"] for e in run_events(tmp_path)] == ["b", "a"]
