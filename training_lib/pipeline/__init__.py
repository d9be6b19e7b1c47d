"""Pipeline stages: what each DAG task does, as plain functions over a run folder."""
