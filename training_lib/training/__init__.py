"""Training: checkpoints, the resumable fit loop, the per-model worker process."""
