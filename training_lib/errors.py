"""The project's exception hierarchy: one root, one subclass per concern."""
from __future__ import annotations


class TrainingLibError(Exception):
    """Root of every error this project raises on purpose."""


class PresetError(TrainingLibError):
    """A preset file is missing, unreadable or fails its schema."""


class DataError(TrainingLibError):
    """The data folder, catalog or a dataset manifest cannot be used."""


class ValidationFailed(DataError):
    """Great Expectations found a critical problem in the catalog."""


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
