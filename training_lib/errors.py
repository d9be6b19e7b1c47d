"""The project's exception hierarchy: one root, one subclass per concern."""
from __future__ import annotations


class TrainingLibError(Exception):
    """Root of every error this project raises on purpose."""


class NotRetryable(TrainingLibError):
    """A retry cannot fix this: the same input fails the same way every time (a missing or
    empty data folder, a failed critical expectation, no data for any model, a broken
    preset). The DAG task fails at once instead of retrying (plugins/ translates it to
    Airflow's AirflowFailException); its message is one line naming the cause and the fix.
    Whatever can heal (a killed process, OOM, an outage, a hang) is not one of these."""


class PresetError(NotRetryable):
    """A preset file is missing, unreadable or fails its schema."""


class DataError(TrainingLibError):
    """The data folder, catalog or a dataset manifest cannot be used."""


class DataFolderError(DataError, NotRetryable):
    """The data folder is missing, empty, refused, or holds nothing any model can use."""


class ValidationFailed(DataError, NotRetryable):
    """Great Expectations found a critical problem in the catalog."""


class RunFailed(NotRetryable):
    """An earlier task of the run failed for good (the run's failure.json says which);
    later tasks that still run (evaluate) stop with its cause."""


class ResourceError(TrainingLibError):
    """The machine cannot provide what a resource plan asks for."""


class TrainingError(TrainingLibError):
    """A model could not be built or trained."""


class CheckpointError(TrainingLibError):
    """A checkpoint could not be written or none valid could be read."""


class RegistryError(TrainingLibError):
    """The MLflow model registry refused an operation."""


class NoDataForModel(TrainingLibError):
    """Routing found no usable data for a model; its branch is skipped, not failed."""


class ReportError(TrainingLibError):
    """A run's report cannot be built, or does not match its schema."""
