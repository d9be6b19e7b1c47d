"""Airflow DAG of presets/quick_start.yaml (written by `python -m training_lib presets sync`)."""
from tlib_airflow.dag_builder import build_preset_dag

dag = build_preset_dag(__file__)
