-- MLflow keeps its tracking and registry tables in their own database.
CREATE DATABASE mlflow OWNER airflow;
