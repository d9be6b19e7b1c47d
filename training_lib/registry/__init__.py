"""MLflow: experiment tracking, model versions, tags, aliases and rollback."""
