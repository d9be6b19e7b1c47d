"""Rollback refuses clearly: nothing to roll back to, a model never registered (naming the
registered ones), no previous, an unknown version; the form's list follows the registry."""
from __future__ import annotations

import argparse
import uuid

import pytest

from tests.fixtures.registry_models import register_versions
from training_lib.cli import registry as cli
from training_lib.errors import RegistryError
from training_lib.registry.model_index import read_index, rollback_choices
from training_lib.registry.promotion import move_alias
from training_lib.registry.rollback import rollback


def test_a_model_with_one_version_has_nothing_to_roll_back_to():
    name = register_versions(1)
    move_alias(name, "champion", "1", "first")
    with pytest.raises(RegistryError, match=f"^{name}: nothing to roll back to: only v1 exists$"):
        cli.run_rollback(argparse.Namespace(model=name, version=None, why=""))


def test_a_model_never_registered_is_named_with_the_registered_ones():
    known = register_versions(1)
    missing = "nope_" + uuid.uuid4().hex[:6]
    with pytest.raises(RegistryError) as caught:
        rollback(missing)
    message = str(caught.value)
    assert f"no registered model {missing!r}" in message
    assert "registered models: " in message and known in message


def test_no_previous_and_unknown_version_list_the_versions():
    name = register_versions(2)
    with pytest.raises(RegistryError, match=r"no 'previous' alias .*\(versions v1, v2; "
                                            r"champion none\)"):
        rollback(name)
    with pytest.raises(RegistryError, match=r"no version '7' \(versions v1, v2\)"):
        rollback(name, "7")


def test_the_form_list_is_refreshed_by_registration_and_rollback():
    name = register_versions(3)
    move_alias(name, "champion", "1", "first")
    assert read_index()[name] == {"versions": ["1", "2", "3"], "champion": "1"}
    move_alias(name, "champion", "3", "better")
    rollback(name)
    assert read_index()[name] == {"versions": ["1", "2", "3"], "champion": "1",
                                  "previous": "3"}
    assert rollback_choices()[name] == f"{name} (champion v1, previous v3)"
    single = register_versions(1)
    move_alias(single, "champion", "1", "first")
    assert single in read_index() and single not in rollback_choices()
