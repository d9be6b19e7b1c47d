"""What each DAG task does, as plain functions over a run folder (stages.py), and the
training worker process they start (launcher.py -> worker.py, faults in fault_log.py)."""
