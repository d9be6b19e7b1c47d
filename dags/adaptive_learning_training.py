"""Airflow DAG of presets/adaptive_learning_training.yaml (written by `python -m training_lib presets sync`)."""
from tlib_airflow.dag_builder import build_preset_dag

dag = build_preset_dag(__file__)
