"""docker/docker-compose.yaml starts as written: `docker-compose config` accepts it with real
secrets and refuses the example env; every Airflow container shares one Fernet key and JWT
secret; MLflow runs basic auth and accepts the Host headers workers and browsers send.

There is no Docker daemon on our machines: `config` validates and resolves the file (YAML,
anchors, interpolation, required variables) but starts nothing."""
from __future__ import annotations

import configparser
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from training_lib import settings
from training_lib.stack import compose, credentials

DOCKER = settings.PROJECT_ROOT / "docker"
COMPOSE_FILE = DOCKER / "docker-compose.yaml"
EXAMPLE_ENV = DOCKER / ".env.example"
AIRFLOW_ROLES = ("airflow-init", "api-server", "scheduler", "dag-processor", "triggerer",
                 "worker-1", "worker-2", "worker-gpu")
LONG_RUNNING = ("postgres", "redis", "api-server", "scheduler", "dag-processor", "triggerer",
                "worker-1", "worker-2", "worker-gpu", "mlflow")


def _compose_cli() -> list[str]:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"],
                                                 capture_output=True).returncode == 0:
        return ["docker", "compose"]
    pytest.skip("no docker-compose CLI (.ci/run installs Debian's docker-compose)")


def _config(env_file: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*_compose_cli(), "-f", str(COMPOSE_FILE), "--env-file", str(env_file),
                           "--profile", "gpu", "config"],
                          capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def real_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("compose") / ".env"
    path.write_text(compose.new_env())
    return path


@pytest.fixture(scope="module")
def resolved(real_env: Path) -> dict:
    result = _config(real_env)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_config_accepts_generated_secrets(resolved: dict, real_env: Path) -> None:
    values = compose.read_env_file(real_env)
    services = resolved["services"]
    assert set(AIRFLOW_ROLES) | {"mlflow", "mlflow-init", "postgres", "redis"} <= set(services)
    for role in AIRFLOW_ROLES:
        env = services[role]["environment"]
        assert env["AIRFLOW__CORE__FERNET_KEY"] == values["AIRFLOW_FERNET_KEY"], role
        assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == values["AIRFLOW_JWT_SECRET"], role
        assert env["MLFLOW_TRACKING_PASSWORD"] == values["MLFLOW_SERVICE_PASSWORD"], role
        assert env["TLIB_MLFLOW_UI_URL"] == "http://localhost:5000", role
    assert services["mlflow-init"]["environment"]["MLFLOW_TRACKING_PASSWORD"] == \
        values["MLFLOW_SERVICE_PASSWORD"]


def test_config_refuses_the_example_env() -> None:
    result = _config(EXAMPLE_ENV)
    assert result.returncode != 0
    assert re.search(r"set it in docker/\.env", result.stderr), result.stderr
    assert re.search(r"POSTGRES_PASSWORD|REDIS_PASSWORD|AIRFLOW_|MLFLOW_", result.stderr), \
        result.stderr


def test_one_service_builds_the_image_the_others_use_it(resolved: dict) -> None:
    services = resolved["services"]
    builders = [name for name, s in services.items() if "build" in s]
    assert builders == ["airflow-init"]
    own = [name for name, s in services.items() if s.get("image") == "training-platform:latest"]
    assert set(own) == set(AIRFLOW_ROLES) | {"mlflow", "mlflow-init"}
    for name in own:
        if name not in builders:
            assert services[name]["pull_policy"] == "never", name


def test_mlflow_runs_basic_auth_and_accepts_container_and_host_names(resolved: dict) -> None:
    mlflow = resolved["services"]["mlflow"]
    command = " ".join(mlflow["command"])
    assert "--app-name basic-auth" in command
    hosts = re.search(r"--allowed-hosts (\S+)", command).group(1).split(",")
    assert {"mlflow:5000", "localhost:5000", "127.0.0.1:5000"} <= set(hosts)
    env = mlflow["environment"]
    assert env["MLFLOW_AUTH_DATABASE_URI"].endswith("@postgres/mlflow_auth")
    assert env["MLFLOW_FLASK_SERVER_SECRET_KEY"] and env["MLFLOW_AUTH_ADMIN_PASSWORD"]
    assert not any(key.startswith("AIRFLOW__") for key in env)  # none of Airflow's secrets
    assert "CREATE DATABASE mlflow_auth" in (DOCKER / "initdb" / "10-mlflow.sql").read_text()
    init = resolved["services"]["mlflow-init"]
    assert init["depends_on"]["mlflow"]["condition"] == "service_healthy"
    assert init["command"][-2:] == ["compose", "mlflow-account"]
    assert init["environment"]["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"


def test_long_running_services_have_health_checks(resolved: dict) -> None:
    services = resolved["services"]
    for name in LONG_RUNNING:
        assert services[name].get("healthcheck", {}).get("test"), name
    assert "/api/v2/version" in " ".join(services["api-server"]["healthcheck"]["test"])
    for name, job in (("scheduler", "SchedulerJob"), ("dag-processor", "DagProcessorJob"),
                      ("triggerer", "TriggererJob")):
        assert f"--job-type {job}" in " ".join(services[name]["healthcheck"]["test"]), name
    for name in ("worker-1", "worker-2", "worker-gpu"):
        assert "inspect ping" in " ".join(services[name]["healthcheck"]["test"]), name
    assert "curl" in (DOCKER / "Dockerfile").read_text()  # what the HTTP checks run


def test_every_secret_is_required_wherever_the_file_uses_it() -> None:
    """Read without the CLI: each secret appears only as ${NAME:?...}, never with a default
    or optional, so no service can start with an empty one."""
    text = COMPOSE_FILE.read_text()
    for secret in compose.SECRETS:
        uses = re.findall(r"\$\{" + secret.name + r"(:?[?\-+]?)", text)
        assert uses, f"{secret.name} is not used in {COMPOSE_FILE.name}"
        assert set(uses) == {":?"}, f"{secret.name}: {uses}"
    example = compose.read_env_file(EXAMPLE_ENV)
    assert {s.name for s in compose.SECRETS} <= set(example)
    assert not any(example[s.name] for s in compose.SECRETS)  # empty: compose refuses


def test_check_env_accepts_new_env_and_names_each_problem(tmp_path: Path) -> None:
    good = compose.read_env_file(_write(tmp_path / "good.env", compose.new_env()))
    assert compose.check_env(good) == []
    problems = compose.check_env(compose.read_env_file(EXAMPLE_ENV))
    assert len(problems) == len(compose.SECRETS)
    assert all(p.split()[0] in {s.name for s in compose.SECRETS} for p in problems)
    bad = {**good, "POSTGRES_PASSWORD": "change-me", "REDIS_PASSWORD": "short",
           "AIRFLOW_FERNET_KEY": "abcdefghijklmnopqrstuvwxyz012345", "MLFLOW_ADMIN_PASSWORD": "my-password-is-long",
           "MLFLOW_SERVICE_PASSWORD": good["MLFLOW_FLASK_SECRET_KEY"]}
    text = "\n".join(compose.check_env(bad))
    assert "POSTGRES_PASSWORD looks like a placeholder" in text
    assert "REDIS_PASSWORD has 5 characters" in text
    assert "AIRFLOW_FERNET_KEY is not a Fernet key" in text
    assert "MLFLOW_ADMIN_PASSWORD looks like a placeholder" in text  # "password"
    assert "two secrets have the same value" in text
    url_bad = {**good, "POSTGRES_PASSWORD": "abcd@efgh/ijkl:mnop"}
    assert "POSTGRES_PASSWORD has characters that break" in "\n".join(compose.check_env(url_bad))
    assert "change-me" not in text  # never echoes a value


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_mlflow_ini_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ini = tmp_path / "mlflow" / "basic_auth.ini"
    monkeypatch.delenv("MLFLOW_AUTH_ADMIN_PASSWORD", raising=False)
    monkeypatch.setenv("MLFLOW_AUTH_DATABASE_URI", "postgresql+psycopg2://airflow:pw@postgres/x")
    with pytest.raises(credentials.StackSecretError, match="MLFLOW_AUTH_ADMIN_PASSWORD"):
        compose.write_mlflow_ini(ini)
    monkeypatch.setenv("MLFLOW_AUTH_ADMIN_PASSWORD", "a-real-admin-pw-0123456789")
    monkeypatch.setenv("MLFLOW_AUTH_CONFIG_PATH", str(ini))
    compose.write_mlflow_ini(ini)
    assert stat.S_IMODE(ini.stat().st_mode) == 0o600
    parser = configparser.ConfigParser()
    parser.read(ini)
    assert "admin_password" not in parser["mlflow"]  # the password stays in the environment
    from mlflow.server.auth.config import read_auth_config

    config = read_auth_config()  # what the server reads
    assert config.database_uri == "postgresql+psycopg2://airflow:pw@postgres/x"
    assert config.default_permission == "READ"
    assert config.auth_cache_ttl_seconds == 60  # a verified login skips the slow hash
    assert config.admin_password == "a-real-admin-pw-0123456789"


def test_cli_check_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from training_lib.cli import main

    assert main(["compose", "check", str(EXAMPLE_ENV)]) == 1
    assert "AIRFLOW_FERNET_KEY is not set" in capsys.readouterr().err
    env = _write(tmp_path / ".env", compose.new_env())
    assert main(["compose", "check", str(env)]) == 0
