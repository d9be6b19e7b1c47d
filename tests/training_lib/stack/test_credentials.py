"""The stack's secrets are created private (0600 in 0700 folders), once, and reach the
tasks only through their environment."""
from __future__ import annotations

import configparser
import os
import stat
from pathlib import Path

import pytest

from training_lib.stack import credentials
from training_lib.stack import env as stack_env


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_airflow_password_file_is_written_private_and_once(tmp_path: Path) -> None:
    path = tmp_path / "airflow" / "simple_auth_manager_passwords.json.generated"
    password = credentials.ensure_airflow_password(path)
    assert password and len(password) >= 16 and _mode(path) == 0o600
    assert f'"admin": "{password}"' in path.read_text()
    assert credentials.ensure_airflow_password(path) is None  # kept, not regenerated
    assert password in path.read_text()


def test_mlflow_ini_and_logins(tmp_path: Path) -> None:
    creds, ini, db = tmp_path / "credentials.json", tmp_path / "basic_auth.ini", tmp_path / "a.db"
    auth, created = credentials.ensure_mlflow_auth(creds, ini, db)
    assert created and _mode(creds) == _mode(ini) == 0o600
    config = configparser.ConfigParser()
    config.read(ini)
    assert dict(config["mlflow"]) == {
        "default_permission": "READ", "database_uri": f"sqlite:///{db}",
        "admin_username": "admin", "admin_password": auth.admin_password,
        "authorization_function": "mlflow.server.auth:authenticate_request_basic_auth",
        "grant_default_workspace_access": "false", "auth_cache_ttl_seconds": "60"}
    again, created = credentials.ensure_mlflow_auth(creds, ini, db)
    assert again == auth and not created
    creds.unlink()
    db.write_bytes(b"")  # an auth DB whose admin password is lost: refuse, say what to do
    with pytest.raises(credentials.StackSecretError, match=str(db)):
        credentials.ensure_mlflow_auth(creds, ini, db)


def test_service_login_reaches_the_stack_environment_only(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TLIB_VAR_DIR", str(tmp_path / "var"))
    assert "MLFLOW_TRACKING_PASSWORD" not in stack_env.stack_environment(with_mlflow_server=True)
    auth, _ = credentials.ensure_mlflow_auth(stack_env.mlflow_credentials_file(),
                                             stack_env.mlflow_auth_ini(), stack_env.mlflow_auth_db())
    env = stack_env.stack_environment(with_mlflow_server=True)
    assert (env["MLFLOW_TRACKING_USERNAME"], env["MLFLOW_TRACKING_PASSWORD"]) == \
        (auth.service_username, auth.service_password)
    assert "MLFLOW_TRACKING_PASSWORD" not in stack_env.stack_environment(with_mlflow_server=False)
    assert auth.admin_password not in env.values()


def test_umask_and_tighten_make_var_private(tmp_path: Path) -> None:
    old = tmp_path / "var" / "store"
    old.mkdir(parents=True, mode=0o755)
    (old / "catalog.sqlite").write_text("x")
    os.chmod(old / "catalog.sqlite", 0o644)
    (old / "link").symlink_to("/etc/hostname")
    assert credentials.tighten(tmp_path / "var") == 3
    assert _mode(tmp_path / "var") == _mode(old) == 0o700
    assert _mode(old / "catalog.sqlite") == 0o600
    assert _mode(Path("/etc/hostname")) & 0o044  # a link's target is left alone
    before = os.umask(0o022)
    try:
        with credentials.private_umask():
            (tmp_path / "new").mkdir()
            (tmp_path / "new" / "f").write_text("x")
        assert _mode(tmp_path / "new") == 0o700 and _mode(tmp_path / "new" / "f") == 0o600
        (tmp_path / "after").write_text("x")  # the previous umask is back
        assert _mode(tmp_path / "after") == 0o644
    finally:
        os.umask(before)
