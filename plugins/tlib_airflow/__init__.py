"""The bridge between Airflow and training_lib: DAG builder, task callables, sensors.

Everything here imports training_lib lazily inside task bodies, so that building
DAGs at parse time stays cheap (no tensorflow, keras, mlflow, GX, pandas).
"""
