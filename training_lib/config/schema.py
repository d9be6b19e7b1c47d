"""The preset schema: every key a preset may set, its type, range and default.

Models are frozen pydantic models that forbid unknown keys. `presets.py` turns
pydantic's errors into messages that name the file, key path, value and what
was expected.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import (BaseModel, ConfigDict, Field, ValidationInfo, field_validator,
                      model_validator)

from training_lib.config.anomalies import AnomalyConfig
from training_lib.config.cron import cron_error
from training_lib.config.extensions import STRATEGIES
from training_lib.config.keyed_error import KeyedValueError
from training_lib.config.entry_points import entry_point_error
from training_lib.config import file_types, model_specs, record_fields

# the registered file types (config.file_types), as the literal a selector's `types` takes
DataType = Literal[file_types.type_names()]  # type: ignore[valid-type]
# Durations become timedeltas (and sensor timeouts) when the DAG is built: a year is
# more than any of them needs and far from timedelta's overflow.
MAX_SECONDS = 366 * 24 * 3600
ModelTask = Literal["classification", "regression", "seq2seq", "autoencoder"]


class _Strict(BaseModel):
    # allow_inf_nan: `.inf` would pass `ge=0` and then overflow a timedelta at DAG import
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class LabelField(_Strict):
    """`labels: {field: NAME}`: records take their label from field NAME (a table's column)."""

    field: str = Field(min_length=1)


class LabelFile(_Strict):
    """`labels: {file: labels.csv}`: a CSV in the dataset folder mapping path -> label."""

    file: str = Field(min_length=1)


class DatasetSelector(_Strict):
    """Which files of the data root a preset uses, and where their class labels come from."""

    path: str = Field(".", description="folder relative to the data root")
    include: tuple[str, ...] = Field(("**/*",), description="glob patterns to keep")
    exclude: tuple[str, ...] = Field((), description="glob patterns to drop")
    types: tuple[DataType, ...] | None = Field(None, description="keep only these file types")
    labels: Literal["infer", "subfolders", "none"] | LabelField | LabelFile = Field(
        "infer", description="subfolders: one subfolder of `path` per class (Keras, "
                             "torchvision); none; {field: NAME}; {file: labels.csv}; infer: "
                             "class folders only where unambiguous (data/labels.py)")


# Which way is better for the metrics a checkpoint may be ranked by (a "val_"/"epoch_"
# prefix is ignored): lower for losses and errors, higher for scores.
LOWER_IS_BETTER = ("loss", "mse", "mae", "rmse", "mean_squared_error", "mean_absolute_error",
                   "root_mean_squared_error", "crossentropy", "perplexity")
HIGHER_IS_BETTER = ("accuracy", "acc", "exact_match", "r2", "reconstruction_r2", "auc",
                    "precision", "recall", "f1", "hard_target_accuracy")


def metric_mode(metric: str) -> Literal["min", "max"] | None:
    """"min" or "max" for a metric of known direction (`val_loss` -> "min"), else None."""
    name = metric.removeprefix("epoch_").removeprefix("val_")
    if name in LOWER_IS_BETTER or name.endswith(("_loss", "_crossentropy")):
        return "min"
    if name in HIGHER_IS_BETTER or name.endswith("_accuracy"):
        return "max"
    return None


class CheckpointConfig(_Strict):
    """When checkpoints are written (besides every `checkpoint_interval` steps) and which
    are kept: the last `keep_last`, plus the best on `monitor` in the `monitor_mode` way."""

    every_seconds: float | None = Field(None, gt=0, le=MAX_SECONDS)
    at_epoch_end: bool = True
    keep_last: int = Field(3, ge=1)
    keep_best: bool = True
    monitor: str = "val_loss"
    monitor_mode: Literal["min", "max"] = Field(
        "min", description="min: lower is better, max: higher; when left out, the known "
                           "direction of `monitor`")

    @model_validator(mode="before")
    @classmethod
    def _mode_of_monitor(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "monitor_mode" in data:
            return data
        monitor = data.get("monitor", "val_loss")
        mode = metric_mode(monitor) if isinstance(monitor, str) else None
        if mode is None:
            raise KeyedValueError(("checkpoint", "monitor_mode"), None,
                                  f"'min' or 'max': the direction of checkpoint.monitor "
                                  f"{monitor!r} is not known, so say whether lower (min) or "
                                  "higher (max) is better")
        return {**data, "monitor_mode": mode}


class Preprocessing(_Strict):
    image_size: int = Field(32, ge=8, le=512)
    audio_sample_rate: int = Field(16000, ge=4000, le=96000)
    audio_clip_seconds: float = Field(1.0, gt=0, le=60)
    text_max_length: int = Field(128, ge=8, le=4096)


class Promotion(_Strict):
    """When a new version becomes the champion (see registry/promotion.py)."""

    margin: float = Field(0.005, ge=0, description="needed improvement over the champion")
    min_metric: float = Field(0.0, description="absolute floor of the test metric")
    min_lift: float = Field(0.0, description="floor of test metric minus trivial baseline")
    max_gap_to_reference: float = Field(
        0.01, ge=0, description="how far the test metric may trail the classical reference")


class Incremental(_Strict):
    """Incremental learning from the champion (see training_lib/incremental/)."""

    replay_ratio: float = Field(1.0, ge=0, le=20, description="old rows replayed per new row "
                                "(classification: per old class, per new row of a class)")
    distillation_weight: float = Field(0.75, ge=0, le=1, description="weight of the champion's "
                                       "answers in replayed rows' targets; 0 = labels only")
    forgetting_epsilon: float = Field(0.01, ge=0, le=1, description="allowed old-data drop")
    min_new_test_rows: int = Field(30, ge=1, description="new-data test rows needed to judge")
    significance_level: float = Field(0.05, gt=0, lt=1, description="alpha of the paired tests")
    trigger_on_new_data: bool = Field(True, description="also run when a scan catalogs data")


class ModelOverrides(_Strict):
    """Per-model settings; unset keys fall back to the preset's."""

    epochs: int | None = Field(None, ge=1)
    max_epochs: int | None = Field(None, ge=1, description="epoch budget with early stopping "
                                   "(default: the model spec's; see config/schedule.py)")
    patience: int | None = Field(None, ge=0, description="epochs without improvement of "
                                 "checkpoint.monitor before stopping; 0 = no early stopping")
    batch_size: int | None = Field(None, ge=1)
    learning_rate: float | None = Field(None, gt=0)
    urgency: int | None = Field(None, ge=0, le=10)
    target_column: str | None = None
    fields: dict[str, str] | None = Field(
        None, description="canonical record field -> the key the model's records hold it "
                          "under ({text: caption}); unset fields use the canonical name or a "
                          "synonym (config/record_fields.py)")




class Collaboration(_Strict):
    """Knowledge shared between rounds (training_lib/collab); used when
    `enable_collaborative_training` is true. Defaults are what bench/collab.py measured."""

    strategies: tuple[str, ...] = Field(("cotraining",), description="run between rounds: "
                                        "names registered in config.extensions.STRATEGIES")
    confidence_threshold: float = Field(0.5, ge=0, le=1, description="co-training: teachers' "
                                        "mean top probability a pseudo-label needs")
    cotraining_weight: float = Field(1.0, gt=0, le=10, description="loss weight of a "
                                     "pseudo-labeled row relative to a labeled one")
    distillation_weight: float = Field(0.5, gt=0, le=10, description="weight of the KL term")
    temperature: float = Field(2.0, gt=0, le=20, description="softening of distillation outputs")
    same_steps: bool = Field(True, description="a round that adds rows runs fewer epochs: the "
                             "optimizer steps its model's own rows would take")

    @field_validator("strategies")
    @classmethod
    def _registered_once(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for i, name in enumerate(value):
            if name not in STRATEGIES:
                raise KeyedValueError(("collaboration", "strategies", i), name,
                                      "a registered collaboration strategy: one of "
                                      f"{', '.join(STRATEGIES.names())}")
        if len(set(value)) != len(value):
            raise ValueError(f"each of {', '.join(STRATEGIES.names())} at most once")
        return value


class CustomModel(_Strict):
    """A user's own model: `entry` is "module:function" returning a Keras model."""

    entry: str
    consumes: tuple[str, ...]
    task: ModelTask = "classification"
    metric: str = "accuracy"

    @field_validator("entry")
    @classmethod
    def _entry_resolves(cls, value: str) -> str:
        problem = entry_point_error(value)
        if problem:
            raise ValueError(problem)
        return value


class PresetModel(_Strict):
    description: str = Field(min_length=1)
    data_root: str = "data/demo"
    datasets: tuple[DatasetSelector, ...] = (DatasetSelector(),)
    custom_models: dict[str, CustomModel] = Field(default_factory=dict)
    target_models: tuple[str, ...] | Literal["auto"]
    models: dict[str, ModelOverrides] = Field(default_factory=dict)
    epochs: int = Field(ge=1, le=10000)
    batch_size: int = Field(32, ge=1, le=65536)
    learning_rate: float = Field(1e-3, gt=0, le=10)
    validation_split: float = Field(0.15, ge=0, lt=1)
    test_split: float = Field(0.15, gt=0, lt=1)
    max_samples_per_model: int | None = Field(None, ge=10)
    checkpoint_interval: int = Field(50, ge=1, description="training steps between checkpoints")
    checkpoint: CheckpointConfig = CheckpointConfig()
    use_gpu: bool = True
    gpu_packing: int = Field(4, ge=1, le=64, description="models trained at once per GPU")
    distributed_training: bool = False
    mixed_precision: bool = False
    enable_collaborative_training: bool = False
    rounds: int = Field(1, ge=1, le=100)
    collaboration: Collaboration = Collaboration()
    schedule: str | None = None
    retries: int = Field(3, ge=0, le=20)
    retry_delay_seconds: float = Field(10, ge=0, le=MAX_SECONDS)
    resource_wait_timeout_seconds: float = Field(3600, gt=0, le=MAX_SECONDS)
    stall_timeout_seconds: float = Field(300, gt=0, le=MAX_SECONDS,
                                         description="no step for this long: fail")
    execution_timeout_minutes: float | None = Field(None, gt=0, le=MAX_SECONDS / 60)
    min_disk_space_gb: float = Field(1.0, ge=0, description="below this a node is unhealthy")
    auto_pause_on_low_disk: bool = Field(False, description="checkpoint and wait, not fail")
    deterministic: bool = Field(False, description="deterministic ops (exact resume on CPU)")
    urgency: int = Field(5, ge=0, le=10)
    quality_floor: float = Field(0.5, ge=0, le=1)
    min_class_files: int = Field(5, ge=1, le=100000, description="a class with fewer files "
                                 "is not inferred, and is dropped from training with a warning")
    preprocessing: Preprocessing = Preprocessing()
    promotion: Promotion = Promotion()
    anomalies: AnomalyConfig = AnomalyConfig()
    incremental: Incremental | None = None
    seed: int = Field(1234, ge=0, le=2**32 - 1, description="numpy's seed range")
    tags: tuple[str, ...] = ()

    @field_validator("target_models", "models")
    @classmethod
    def _known_models(cls, value: object, info: ValidationInfo) -> object:
        if value == "auto":
            return value
        known = set(model_specs.known_names()) | set(info.data.get("custom_models") or {})
        for i, name in enumerate(value):  # type: ignore[arg-type]
            if name not in known:
                raise KeyedValueError((info.field_name, i if isinstance(value, tuple) else name),
                                  name, f"a model name: one of {', '.join(sorted(known))}")
        return value

    @field_validator("schedule")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        if value is not None:
            problem = cron_error(value)
            if problem:
                raise ValueError(f"a cron expression or @macro ({problem})")
        return value

    def for_model(self, model: str, key: str) -> Any:
        """`key` for one model: its `models.<model>.<key>` override, else the preset's."""
        override = getattr(self.models.get(model), key, None)
        return override if override is not None else getattr(self, key)

    def fields_for(self, model: str) -> dict[str, str]:
        """A model's `models.<model>.fields`, else those of a group it is in, else {}."""
        groups = [g for g, members in model_specs.GROUPS.items() if model in members]
        for name in (model, *groups):
            overrides = self.models.get(name)
            if overrides is not None and overrides.fields:
                return dict(overrides.fields)
        return {}

    @model_validator(mode="after")
    def _consistent(self) -> "PresetModel":
        clash = set(self.custom_models) & set(model_specs.known_names())
        if clash:
            name = sorted(clash)[0]
            raise KeyedValueError(("custom_models", name), name, "a name no built-in model uses")
        if self.rounds > 1 and not self.enable_collaborative_training:
            raise KeyedValueError(("rounds",), self.rounds,
                              "1 unless enable_collaborative_training is true")
        for name, overrides in self.models.items():
            problem = overrides.fields and record_fields.field_error(
                overrides.fields, self._consumes(name), name)
            if problem:
                field, value, expected = problem
                raise KeyedValueError(("models", name, "fields", field), value, expected)
        return self

    def _consumes(self, model: str) -> tuple[str, ...]:
        """The data kinds of a built-in or custom model, or of a group's members."""
        if model in self.custom_models:
            return self.custom_models[model].consumes
        members = model_specs.GROUPS.get(model, (model,))
        return tuple(k for m in members if m in model_specs.MODELS
                     for k in model_specs.MODELS[m].consumes)
