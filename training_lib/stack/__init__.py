"""The embedded stack: `airflow standalone` + `mlflow server`, started and stopped by PID."""
