"""The MLflow client, and the model registry's verbs: registered models, versions, tags,
aliases, loading a version.

Every MLflow call of the project goes through this module or `tracking.py` (runs,
experiments, logging); nothing else touches `MlflowClient`. Errors are translated, never
swallowed:

- "does not exist" (MLflow's `RESOURCE_DOES_NOT_EXIST`) is an answer: the `get_*`
  functions return None, `search_versions` an empty list;
- anything else (server down, database locked, permission refused, a bad request) is
  raised as `RegistryError` naming the operation, the model/version and the tracking
  server, chained to MLflow's exception.

    >>> from training_lib.registry import client
    >>> client.get_version_by_alias("vision_service", "champion")  # None: no champion yet
"""
from __future__ import annotations

import contextlib
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Callable, Iterator, TypeVar

from training_lib import settings
from training_lib.errors import RegistryError

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion, RegisteredModel

T = TypeVar("T")
DOES_NOT_EXIST = "RESOURCE_DOES_NOT_EXIST"
ALREADY_EXISTS = "RESOURCE_ALREADY_EXISTS"


@lru_cache(maxsize=4)
def _client(uri: str) -> "MlflowClient":
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def client() -> "MlflowClient":
    """The client of the configured tracking store (created once per URI). Library code
    calls the verbs of this module and `tracking.py`; tests and tools may use it.

    The fluent API (register_model, log_model) must use the same store, never ./mlflow.db
    or a store an earlier call pointed it at: its global URIs are set on every call, not
    only when a client is created (a cached client for this URI would skip that)."""
    import mlflow

    uri = settings.mlflow_tracking_uri()
    if mlflow.get_tracking_uri() != uri:
        mlflow.set_tracking_uri(uri)
    if mlflow.get_registry_uri() != uri:
        mlflow.set_registry_uri(uri)
    return _client(uri)


def reset_client() -> None:
    """Forget the cached clients (after MLFLOW_TRACKING_URI changed)."""
    _client.cache_clear()


def error_code(e: BaseException) -> str | None:
    """MLflow's error code of `e` (None for an exception that is not MLflow's)."""
    from mlflow.exceptions import MlflowException

    return e.error_code if isinstance(e, MlflowException) else None


@contextlib.contextmanager
def translated(operation: str, subject: str) -> Iterator[None]:
    """Raise any failure inside as RegistryError naming `operation`, `subject` and server."""
    try:
        yield
    except RegistryError:
        raise
    except Exception as e:
        raise RegistryError(f"{operation} {subject} failed on the MLflow server "
                            f"{settings.mlflow_tracking_uri()!r}: {type(e).__name__}: "
                            f"{str(e)[:500]}") from e


def call(operation: str, subject: str, fn: Callable[[], T], *,
         missing_ok: bool = False) -> T | None:
    """`fn()`, translated; None when `missing_ok` and MLflow says the resource does not exist."""
    with translated(operation, subject):
        try:
            return fn()
        except Exception as e:
            if missing_ok and error_code(e) == DOES_NOT_EXIST:
                return None
            raise


# ---- registered models ------------------------------------------------------------------
def get_registered_model(model: str) -> "RegisteredModel | None":
    return call("reading registered model", repr(model),
                lambda: client().get_registered_model(model), missing_ok=True)


def create_registered_model(model: str, description: str = "") -> bool:
    """Create it; False when it already exists (e.g. created by a parallel task)."""
    with translated("creating registered model", repr(model)):
        try:
            client().create_registered_model(model, description=description)
        except Exception as e:
            if error_code(e) == ALREADY_EXISTS:
                return False
            raise
    return True


def set_model_tag(model: str, key: str, value: str) -> None:
    call(f"setting tag {key!r} of registered model", repr(model),
         lambda: client().set_registered_model_tag(model, key, value))


def delete_model_tag(model: str, key: str) -> None:
    call(f"deleting tag {key!r} of registered model", repr(model),
         lambda: client().delete_registered_model_tag(model, key))


def list_registered_models() -> list[str]:
    """The names of every registered model, sorted."""
    def names() -> list[str]:
        found, token = [], None
        while True:
            page = client().search_registered_models(max_results=1000, page_token=token)
            found += [m.name for m in page]
            token = page.token
            if not token:
                return sorted(found)

    return call("listing registered models on", "the registry", names) or []


def get_aliases(model: str) -> dict[str, str] | None:
    """{alias: version} of a registered model; None when the model does not exist."""
    registered = get_registered_model(model)
    if registered is None:
        return None
    return {alias: str(version) for alias, version in (registered.aliases or {}).items()}


# ---- versions ---------------------------------------------------------------------------
def get_version(model: str, version: str) -> "ModelVersion | None":
    return call("reading model version", f"{model!r} v{version}",
                lambda: client().get_model_version(model, str(version)), missing_ok=True)


def get_version_by_alias(model: str, alias: str) -> "ModelVersion | None":
    """The version `alias` points at; None when the model, the alias or the version does
    not exist. (MLflow answers a missing alias with INVALID_PARAMETER_VALUE, which cannot
    be told from a bad request, so the alias is looked up in the model's alias table.)"""
    aliases = get_aliases(model)
    if aliases is None or alias not in aliases:
        return None
    return get_version(model, aliases[alias])


def search_versions(model: str) -> list["ModelVersion"]:
    """Every version of `model` (empty when it has none or does not exist)."""
    found = call("searching versions of", repr(model),
                 lambda: client().search_model_versions(f"name='{model}'"), missing_ok=True)
    return list(found or [])


def create_version(model: str, model_uri: str, tags: dict[str, str],
                   description: str = "") -> "ModelVersion":
    """Register the logged model at `model_uri` as a new version of `model`."""
    import mlflow

    def register() -> "ModelVersion":
        client()  # points the fluent API at our store
        # register_model resolves a logged model's URI (models:/m-...) to its artifact
        # location and model id, which the REST store requires
        version = mlflow.register_model(model_uri, model, tags=tags)
        if description:
            client().update_model_version(model, version.version, description=description)
        return version

    return call("registering a version of", f"{model!r} from {model_uri!r}", register)


def set_version_tag(model: str, version: str, key: str, value: str) -> None:
    call(f"setting tag {key!r} of model version", f"{model!r} v{version}",
         lambda: client().set_model_version_tag(model, str(version), key, value))


def delete_version_tag(model: str, version: str, key: str) -> None:
    call(f"deleting tag {key!r} of model version", f"{model!r} v{version}",
         lambda: client().delete_model_version_tag(model, str(version), key))


def set_alias(model: str, alias: str, version: str) -> None:
    call(f"pointing alias {alias!r} of", f"{model!r} at v{version}",
         lambda: client().set_registered_model_alias(model, alias, str(version)))


def delete_alias(model: str, alias: str) -> None:
    call(f"deleting alias {alias!r} of", repr(model),
         lambda: client().delete_registered_model_alias(model, alias))


def load_keras_model(model: str, version: str) -> Any:
    """The Keras model of a registered version (the project's custom layers registered)."""
    import mlflow

    from training_lib.models.saving import register_custom_objects

    register_custom_objects()

    def load() -> Any:
        client()  # points the fluent API at our store
        return mlflow.keras.load_model(f"models:/{model}/{version}")

    return call("loading model version", f"{model!r} v{version}", load)
