"""The stack's secrets: generated once, kept in 0600 files under a 0700 var/, never logged.

- Airflow: `airflow standalone` would generate the admin password itself and print it
  into var/logs/airflow.log. We write its passwords file first (0600), so the simple
  auth manager finds the user and prints nothing.
- MLflow: the basic-auth app reads its admin login from an ini file (0600); the
  pipeline logs in as a service account whose password only the tasks' environment
  carries (MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD).

Every process of the stack starts under umask 077 (`private_umask`), so what Airflow,
MLflow and the tasks write (airflow.cfg, airflow.db, mlflow.db, the catalog, the run
store, logs) is private to the user who ran `make up`; `tighten` fixes what an older
version left readable.
"""
from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import stat
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from training_lib.errors import TrainingLibError

log = logging.getLogger(__name__)

PRIVATE_UMASK = 0o077
SERVICE_USER = "tlib-pipeline"


class StackSecretError(TrainingLibError):
    """A secret of the stack cannot be created or used."""


@contextmanager
def private_umask() -> Iterator[None]:
    """Files and folders created meanwhile, by this process and its children, are 0600/0700."""
    previous = os.umask(PRIVATE_UMASK)
    try:
        yield
    finally:
        os.umask(previous)


def new_password() -> str:
    return secrets.token_urlsafe(18)  # 24 characters, 144 bits


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` atomically, mode 0600 from the first byte on."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def tighten(folder: Path) -> int:
    """Remove group and other permissions under `folder` (links untouched); returns
    how many entries changed."""
    changed = 0
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in [""] + dirnames + filenames:
            path = os.path.join(dirpath, name) if name else dirpath
            try:
                st = os.lstat(path)
                if stat.S_ISLNK(st.st_mode) or not st.st_mode & 0o077:
                    continue
                os.chmod(path, stat.S_IMODE(st.st_mode) & ~0o077)
                changed += 1
            except OSError as e:  # not ours (a shared volume): leave it, say so
                log.warning("cannot make %s private: %s", path, e.strerror)
    return changed


def ensure_airflow_password(passwords_file: Path, username: str = "admin") -> str | None:
    """Create Airflow's simple-auth passwords file if missing; the new password, else None."""
    if passwords_file.exists():
        os.chmod(passwords_file, 0o600)
        return None
    password = new_password()
    write_private(passwords_file, json.dumps({username: password}) + "\n")
    return password


@dataclass(frozen=True)
class MlflowAuth:
    admin_username: str
    admin_password: str
    service_username: str
    service_password: str
    flask_secret_key: str

    @classmethod
    def read(cls, path: Path) -> MlflowAuth | None:
        try:
            return cls(**json.loads(path.read_text()))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError) as e:
            raise StackSecretError(f"{path}: unreadable MLflow credentials ({e}); remove it "
                                   f"and the auth database beside it to generate new ones") from e


def ensure_mlflow_auth(credentials_file: Path, ini_file: Path, auth_db: Path) -> tuple[MlflowAuth, bool]:
    """The MLflow logins (generated on the first start) and the basic-auth ini; True when new."""
    auth = MlflowAuth.read(credentials_file)
    created = auth is None
    if auth is None:
        if auth_db.exists():  # its admin has a password we no longer know
            raise StackSecretError(
                f"{credentials_file} is missing but the MLflow auth database {auth_db} exists; "
                f"remove {auth_db} to start over with new MLflow logins")
        auth = MlflowAuth("admin", new_password(), SERVICE_USER, new_password(),
                          secrets.token_hex(32))
        write_private(credentials_file, json.dumps(auth.__dict__, indent=2) + "\n")
    os.chmod(credentials_file, 0o600)
    write_auth_ini(ini_file, f"sqlite:///{auth_db}", auth.admin_username, auth.admin_password)
    return auth, created


# MLflow checks a basic-auth password with a deliberately slow hash on EVERY request
# (0.45 s per request on a 2-core machine, about 20 requests to register one version);
# its own credential cache skips that for a login it verified within this many seconds.
# The price: a password changed or a user deleted through the API is refused at once by
# the server worker that handled the change, but another worker (docker compose runs 2)
# may accept the old one until the entry expires.
AUTH_CACHE_TTL_SECONDS = 60


def write_auth_ini(ini_file: Path, database_uri: str, admin_username: str | None = None,
                   admin_password: str | None = None, *,
                   cache_ttl_seconds: int = AUTH_CACHE_TTL_SECONDS) -> None:
    """MLflow's basic-auth config (0600). Without an admin login here, the server takes it
    from MLFLOW_AUTH_ADMIN_USERNAME / MLFLOW_AUTH_ADMIN_PASSWORD (docker compose does)."""
    admin = ([f"admin_username = {admin_username}", f"admin_password = {admin_password}"]
             if admin_username and admin_password else [])
    # default_permission READ: a user an admin adds can read every experiment and model
    # and write only what they create or are granted; without a login, nothing.
    write_private(ini_file, "\n".join([
        "[mlflow]",
        "default_permission = READ",
        f"database_uri = {database_uri}",
        *admin,
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth",
        "grant_default_workspace_access = false",
        f"auth_cache_ttl_seconds = {cache_ttl_seconds}",
        ""]))


def _call(url: str, method: str, path: str, user: str, password: str,
          body: dict | None = None, query: str = "") -> int:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    request = urllib.request.Request(
        f"{url}{path}{'?' + query if query else ''}", method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code
    except (urllib.error.URLError, OSError) as e:
        raise StackSecretError(f"{method} {url}{path}: {e}") from e


def ensure_service_account(url: str, auth: MlflowAuth) -> None:
    """Create the pipeline's MLflow user if missing (or reset its password), as an admin:
    the pipeline creates, tags, promotes and deletes models of every preset, including
    experiments logged before authentication was on."""
    admin = (auth.admin_username, auth.admin_password)
    user = {"username": auth.service_username}
    status = _call(url, "GET", "/api/2.0/mlflow/users/get", auth.service_username,
                   auth.service_password, query=f"username={auth.service_username}")
    if status != 200:
        status = _call(url, "GET", "/api/2.0/mlflow/users/get", *admin,
                       query=f"username={auth.service_username}")
        if status == 404:
            status = _call(url, "POST", "/api/2.0/mlflow/users/create", *admin,
                           {**user, "password": auth.service_password})
        elif status == 200:
            status = _call(url, "PATCH", "/api/2.0/mlflow/users/update-password", *admin,
                           {**user, "password": auth.service_password})
        if status != 200:
            raise StackSecretError(f"MLflow at {url}: cannot create or update the service "
                                   f"account {auth.service_username!r} (HTTP {status}); the "
                                   f"admin login may differ from the one in the credentials file")
    status = _call(url, "PATCH", "/api/2.0/mlflow/users/update-admin", *admin,
                   {**user, "is_admin": True})
    if status != 200:
        raise StackSecretError(f"MLflow at {url}: cannot make {auth.service_username!r} an "
                               f"admin (HTTP {status})")
