"""The model spec registry: what every model is, what it consumes, where its builder lives.

Built-in models are registered below, in one table; a plugin registers its own with
`register_model`. Preset validation, routing, the resource planner, the DAG builder and
the rollback form all read `MODELS`, so a registered model is known everywhere at once.

This module is plain data: it is read while presets are validated (at DAG parse
time), so it must never import keras. Builders are named as "module:function"
strings and imported only when a model is really built.

Data kinds a model can consume are the scanner's file types (image, audio, video,
text, json, tabular, document, code) or a JSON record format ("records:arithmetic").
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ModelSpec:
    name: str
    description: str
    consumes: tuple[str, ...]
    task: str  # classification | seq2seq | regression | autoencoder
    builder: str  # "module:function"(dataset, learning_rate) -> compiled keras.Model
    metric: str  # the held-out test metric the task is judged by
    loader: str = "images"  # a name registered in training_lib.data.loaders.registry
    footprint_mb: int = 256  # rough host/GPU memory at batch 32, for resource planning
    supervised: bool = True
    min_samples: int = 20
    tags: tuple[str, ...] = field(default_factory=tuple)
    # The epoch budget and early-stopping patience this model needs on small data; a
    # preset's `models.<name>.max_epochs` / `patience` win (config/schedule.py).
    max_epochs: int | None = None  # None: the preset's epochs
    patience: int | None = None  # epochs without val_loss improvement; None: no early stop


MODELS: dict[str, ModelSpec] = {}


def register_model(spec: ModelSpec) -> ModelSpec:
    """Make `spec.name` a model presets can name; a name is registered once."""
    if spec.name in MODELS:
        raise ValueError(f"model {spec.name!r} is already registered")
    MODELS[spec.name] = spec
    return spec


for _spec in (
    ModelSpec(
        "vision_service", "Image classifier (documents reach it as rendered pages)",
        ("image", "document"), "classification", "training_lib.models.vision:build", "accuracy",
        loader="images", footprint_mb=384,
    ),
    ModelSpec(
        "audio_service", "Spoken-word classifier over log-mel spectrograms",
        ("audio",), "classification", "training_lib.models.audio:build", "accuracy",
        loader="audio", footprint_mb=192,
    ),
    ModelSpec(
        "causal_reasoning_engine", "Text classifier over labeled text",
        ("text",), "classification", "training_lib.models.text:build", "accuracy",
        loader="texts", footprint_mb=192, max_epochs=60, patience=6,
    ),
    ModelSpec(
        "multimodal_service", "Fusion of image, audio and text encoders over paired samples",
        ("records:pairs", "image", "audio", "text"), "classification",
        "training_lib.models.multimodal:build", "accuracy",
        loader="pairs", footprint_mb=384,
    ),
    ModelSpec(
        "math_model", "Character-level seq2seq on {problem, answer} records",
        ("records:arithmetic",), "seq2seq", "training_lib.models.seq2seq:build", "exact_match",
        loader="arithmetic", footprint_mb=256, max_epochs=150, patience=15,
    ),
    ModelSpec(
        "logic_model", "Sequence classifier on {proposition, answer} records",
        ("records:proposition",), "classification", "training_lib.models.logic:build", "accuracy",
        loader="propositions", footprint_mb=128, max_epochs=60, patience=8,
    ),
    ModelSpec(
        "environment_simulator", "Predicts state_after from state_before + action",
        ("records:environment",), "regression", "training_lib.models.concepts:build_environment",
        "r2", loader="environment", footprint_mb=64,
    ),
    ModelSpec(
        "adaptive_learning_controller", "Predicts the learning strategy from its context",
        ("records:strategy",), "classification", "training_lib.models.concepts:build_strategy",
        "accuracy", loader="strategy", footprint_mb=64,
    ),
    ModelSpec(
        "alpha_deep_model", "Autoencoder over alpha-deep feature records",
        ("records:features",), "autoencoder", "training_lib.models.concepts:build_autoencoder",
        "reconstruction_r2", loader="features", footprint_mb=64, supervised=False,
    ),
    ModelSpec(
        "code_model", "Classifies source files by language",
        ("code",), "classification", "training_lib.models.code:build", "accuracy",
        loader="code", footprint_mb=192, max_epochs=60, patience=6,
    ),
    ModelSpec(
        "data_analysis_model", "Tabular model on a CSV with a configurable target column",
        ("tabular",), "classification", "training_lib.models.tabular:build", "accuracy",
        # its labels are a column, not class folders: routing must not ask files for one
        loader="tables", footprint_mb=64, supervised=False,
    ),
):
    register_model(_spec)

# Names the original project used for a family of models.
GROUPS: dict[str, tuple[str, ...]] = {
    "concept_models": ("environment_simulator", "adaptive_learning_controller", "alpha_deep_model"),
}


def known_names() -> list[str]:
    return sorted([*MODELS, *GROUPS])


def expand(names: list[str]) -> list[str]:
    """Replace group names by their members, keeping order and dropping repeats."""
    out: list[str] = []
    for name in names:
        for member in GROUPS.get(name, (name,)):
            if member not in out:
                out.append(member)
    return out
