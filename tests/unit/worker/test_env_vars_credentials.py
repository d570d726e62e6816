"""The execution role's credentials reach the function as AWS sets them, and a function's
own variables cannot replace them."""

from __future__ import annotations

from pathlib import Path

from nimbus.model.function import RESERVED_ENV
from nimbus.model.invocation import EnvironmentSpec, SessionCredentials
from nimbus.worker import env_vars

CREDS = SessionCredentials(
    access_key_id="ASIAEXAMPLE000000001",
    secret_access_key="wJalrXUtnFEMI/K7MDENG",
    session_token="FwoGZXIvYXdzE-token",
    expiration=1_700_021_600.0,
)


def build(spec: EnvironmentSpec) -> dict[str, str]:
    return env_vars.build(
        spec,
        runtime_api="127.0.0.1:9",
        log_stream="s",
        paths=env_vars.Paths(),
        python_version="3.11",
    )


def spec(**kwargs: object) -> EnvironmentSpec:
    return EnvironmentSpec(
        function_name="orders",
        function_version="$LATEST",
        function_arn="arn:aws:lambda:us-east-1:000000000000:function:orders",
        runtime="python3.11",
        handler="app.handler",
        code_dir=Path("/c"),
        **kwargs,  # type: ignore[arg-type]
    )


def test_the_environment_gets_its_role_session() -> None:
    env = build(spec(credentials=CREDS, environment={"AWS_SESSION_TOKEN": "mine"}))
    assert env["AWS_ACCESS_KEY_ID"] == "ASIAEXAMPLE000000001"
    assert env["AWS_SECRET_ACCESS_KEY"] == "wJalrXUtnFEMI/K7MDENG"
    assert env["AWS_SESSION_TOKEN"] == "FwoGZXIvYXdzE-token"


def test_without_a_data_plane_the_credentials_are_inert() -> None:
    env = build(spec())
    assert env["AWS_ACCESS_KEY_ID"].startswith("ASIA")
    assert env["AWS_SESSION_TOKEN"] == "none"


def test_a_spec_repr_never_shows_secrets_or_variables() -> None:
    text = repr(spec(credentials=CREDS, environment={"DB_PASSWORD": "hunter2-marker"}))
    assert "wJalrXUtnFEMI" not in text
    assert "FwoGZXIvYXdzE" not in text
    assert "hunter2-marker" not in text
    assert "orders" in text  # still useful for debugging


def test_no_credential_variable_can_be_overridden_by_the_functions_own() -> None:
    mine = {
        "AWS_ACCESS_KEY_ID": "AKIAMINE",
        "AWS_SECRET_ACCESS_KEY": "mine",
        "AWS_SESSION_TOKEN": "mine",
        "OTHER": "kept",
    }
    for credentials in (CREDS, None):
        env = build(spec(credentials=credentials, environment=mine))
        expected = env_vars.credentials(spec(credentials=credentials))
        assert {k: env[k] for k in expected} == expected, credentials
        assert "mine" not in (env["AWS_SECRET_ACCESS_KEY"], env["AWS_SESSION_TOKEN"])
        assert env["AWS_ACCESS_KEY_ID"] != "AKIAMINE"
        assert env["OTHER"] == "kept"
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} <= RESERVED_ENV
