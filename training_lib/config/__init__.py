"""Preset files: schema, loading, defaults merging and validation."""
from __future__ import annotations

from training_lib.config.presets import Preset, list_presets, load_all, load_preset

__all__ = ["Preset", "list_presets", "load_all", "load_preset"]
