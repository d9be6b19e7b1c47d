"""The registry facade tells "does not exist" (None / empty) from "the server failed"
(RegistryError naming the operation, the model and the server): against the session's real
SQLite store, and against a server that is not there."""
from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest

from tests.fixtures.registry_models import alias_of as _alias, register_versions as _versions
from training_lib.config.schema import Promotion
from training_lib.errors import RegistryError
from training_lib.registry import client, tracking
from training_lib.registry.promotion import decide_and_apply, move_alias
from training_lib.registry.rollback import rollback

DOWN = "http://127.0.0.1:9"  # the discard port: nothing listens there


@pytest.fixture
def server_down(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", DOWN)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    client.reset_client()
    yield
    client.reset_client()  # the next call points MLflow back at the session's store


def test_missing_things_are_none_or_empty_on_a_local_store():
    name = "absent_" + uuid.uuid4().hex[:8]
    assert client.get_registered_model(name) is None
    assert client.get_aliases(name) is None
    assert client.get_version(name, "1") is None
    assert client.get_version_by_alias(name, "champion") is None
    assert client.search_versions(name) == []
    assert tracking.get_run(uuid.uuid4().hex) is None
    assert tracking.get_metric_history(uuid.uuid4().hex, "loss") == []


def test_present_things_are_found_and_a_missing_alias_or_version_is_none():
    name = _versions(2)
    assert client.get_registered_model(name).name == name
    assert client.get_version_by_alias(name, "champion") is None  # model there, alias not
    assert client.get_version(name, "7") is None
    client.set_alias(name, "champion", "2")
    assert str(client.get_version_by_alias(name, "champion").version) == "2"
    assert client.get_aliases(name) == {"champion": "2"}
    client.delete_alias(name, "champion")
    assert client.get_version_by_alias(name, "champion") is None
    client.set_version_tag(name, "1", "status", "release")
    assert client.get_version(name, "1").tags["status"] == "release"
    assert sorted(str(v.version) for v in client.search_versions(name)) == ["1", "2"]
    assert client.create_registered_model(name) is False  # exists: not an error


def test_a_failure_that_is_not_missing_is_a_registry_error_with_the_operation():
    name = _versions(1)
    with pytest.raises(RegistryError) as caught:
        client.set_version_tag(name, "9", "status", "release")  # no v9: MLflow refuses
    message = str(caught.value)
    assert "setting tag 'status' of model version" in message and f"'{name}' v9" in message
    assert caught.value.__cause__ is not None


@pytest.mark.parametrize(("operation", "call"), [
    ("reading registered model", lambda m: client.get_registered_model(m)),
    ("reading registered model", lambda m: client.get_version_by_alias(m, "champion")),
    ("reading model version", lambda m: client.get_version(m, "3")),
    ("searching versions of", lambda m: client.search_versions(m)),
    ("pointing alias 'champion' of", lambda m: client.set_alias(m, "champion", "3")),
    ("creating registered model", lambda m: client.create_registered_model(m)),
    ("reading experiment", lambda m: tracking.create_run(m)),
])
def test_an_unreachable_server_raises_naming_operation_model_and_server(server_down, operation,
                                                                        call):
    with pytest.raises(RegistryError) as caught:
        call("vision_service")
    message = str(caught.value)
    assert operation in message and "'vision_service'" in message and DOWN in message
    assert caught.value.__cause__ is not None  # chained to MLflow's own error


def test_rollback_on_an_unreachable_server_is_not_reported_as_a_missing_model(server_down):
    with pytest.raises(RegistryError) as caught:
        rollback("vision_service")
    assert "no registered model" not in str(caught.value) and DOWN in str(caught.value)


def test_promotion_with_an_unreadable_champion_raises_instead_of_promoting(monkeypatch):
    name = _versions(2)
    move_alias(name, "champion", "1", "first release")

    def locked(*args, **kwargs):
        from mlflow.exceptions import MlflowException

        raise MlflowException("database is locked")  # INTERNAL_ERROR, not "does not exist"

    monkeypatch.setattr(client.client(), "get_registered_model", locked)
    ctx = SimpleNamespace(settings=SimpleNamespace(promotion=Promotion()))
    result = {"metric": "accuracy", "test_metric": 0.99, "frozen_metric": 0.99, "baseline": 0.1}
    with pytest.raises(RegistryError, match="reading registered model .*database is locked"):
        decide_and_apply(ctx, name, "2", result)
    monkeypatch.undo()
    assert _alias(name, "champion") == "1"  # the champion stays where it was
    assert "status" not in (client.get_version(name, "2").tags or {})  # nothing was decided


def test_the_fluent_api_follows_the_configured_store_also_for_a_cached_client(monkeypatch):
    # a live test pointed MLflow at its server; a later test's registration, with its own
    # client already cached, still went to that (stopped) server
    import mlflow

    own = client.client()._tracking_client.tracking_uri
    monkeypatch.setenv("MLFLOW_TRACKING_URI", DOWN)
    client.client()
    assert mlflow.get_registry_uri() == DOWN
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", own)
    client.client()  # cached for this URI since the first call
    assert mlflow.get_tracking_uri() == own and mlflow.get_registry_uri() == own
