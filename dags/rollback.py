"""Airflow DAG `rollback`: move a model's champion alias back (see tlib_airflow.rollback_dag)."""
from tlib_airflow.rollback_dag import build_rollback_dag

dag = build_rollback_dag()
