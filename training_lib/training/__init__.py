"""The training engine: the resumable fit loop, checkpoints and their mirror, metric sinks,
optimizer state, evaluation and fault injection. It imports nothing above models, data
and runs; `pipeline/worker.py` wires it together with monitoring, registry and collab."""
