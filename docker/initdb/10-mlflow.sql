-- MLflow keeps its tracking and registry tables in their own database, and the users and
-- permissions of its basic-auth app in another (MLFLOW_AUTH_DATABASE_URI in compose).
CREATE DATABASE mlflow OWNER airflow;
CREATE DATABASE mlflow_auth OWNER airflow;
