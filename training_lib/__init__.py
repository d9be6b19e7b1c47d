"""training_lib: the pure-Python core of the training platform.

Nothing in this package imports Airflow; every stage can be called and tested
without a scheduler. Heavy libraries (tensorflow, keras, mlflow, great_expectations,
pandas, matplotlib) are imported inside the functions that need them, so that
reading presets stays cheap enough for DAG parsing.
"""
from __future__ import annotations

__all__ = ["__version__"]
__version__ = "0.1.0"
