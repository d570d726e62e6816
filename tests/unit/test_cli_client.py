"""The CLI's client side (nimbus.cli_client): where credentials come from, the credentials
file, SigV4 signing (against botocore and against the server's verifier), error lines."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from nimbus.auth import signed_request, sigv4
from nimbus.auth.errors import InvalidSignatureError
from nimbus.cli import app
from nimbus.cli_client import (
    CREDENTIALS_FILE,
    PROFILE,
    Credentials,
    CredentialsError,
    SigV4Auth,
    Target,
    error_parts,
    find_credentials,
    parse_credentials_file,
    sign,
)
from nimbus.iam import admin_key
from nimbus.testing.server import free_port
from nimbus.testing.signing import sign_headers

AWS = {"AWS_ACCESS_KEY_ID": "AKIAFROMAWSENV000000", "AWS_SECRET_ACCESS_KEY": "aws-secret-0000000"}
ADMIN = {
    "NIMBUS_ADMIN_ACCESS_KEY_ID": "AKIAFROMNIMBUSENV000",
    "NIMBUS_ADMIN_SECRET_ACCESS_KEY": "nimbus-secret-00000",
}
FILE_KEY = "AKIAFROMFILE00000000"
KEY = Credentials(access_key_id="AKIDEXAMPLE0000000", secret_access_key="s3cr3t", source="test")
ARN = "arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Af"
NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


def write_file(data_dir: Path, key_id: str = FILE_KEY, region: str = "eu-west-1") -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / CREDENTIALS_FILE
    path.write_text(admin_key.credentials_file_text(key_id, "file-secret-000000", region))
    return path


# --- Where credentials come from -----------------------------------------------------------


def test_the_cli_reads_the_file_and_profile_the_server_writes() -> None:
    assert CREDENTIALS_FILE == admin_key.FILE_NAME
    assert PROFILE == admin_key.PROFILE


def test_aws_environment_comes_first(tmp_path: Path) -> None:
    write_file(tmp_path)
    env = {**AWS, **ADMIN, "AWS_SESSION_TOKEN": "token-1"}
    found = find_credentials(env, tmp_path)
    assert found is not None
    assert (found.access_key_id, found.secret_access_key) == (
        AWS["AWS_ACCESS_KEY_ID"],
        AWS["AWS_SECRET_ACCESS_KEY"],
    )
    assert found.session_token == "token-1"
    assert found.source == "AWS_ACCESS_KEY_ID"


def test_nimbus_admin_environment_comes_second(tmp_path: Path) -> None:
    write_file(tmp_path)
    # AWS_SESSION_TOKEN belongs to AWS_ACCESS_KEY_ID: it is not sent with the admin key.
    found = find_credentials({**ADMIN, "AWS_SESSION_TOKEN": "stray"}, tmp_path)
    assert found is not None
    assert found.access_key_id == ADMIN["NIMBUS_ADMIN_ACCESS_KEY_ID"]
    assert found.secret_access_key == ADMIN["NIMBUS_ADMIN_SECRET_ACCESS_KEY"]
    assert found.session_token is None
    assert found.source == "NIMBUS_ADMIN_ACCESS_KEY_ID"


def test_the_data_directorys_credentials_file_comes_last(tmp_path: Path) -> None:
    path = write_file(tmp_path)
    found = find_credentials({"AWS_ACCESS_KEY_ID": "", "UNRELATED": "x"}, tmp_path)
    assert found == Credentials(
        access_key_id=FILE_KEY,
        secret_access_key="file-secret-000000",
        source=str(path),
        region="eu-west-1",
    )


def test_no_credentials_anywhere_is_none(tmp_path: Path) -> None:
    assert find_credentials({}, tmp_path / "missing") is None


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"AWS_ACCESS_KEY_ID": "AKIA"}, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY"),
        ({"AWS_SECRET_ACCESS_KEY": "x"}, "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID"),
        (
            {"NIMBUS_ADMIN_ACCESS_KEY_ID": "AKIA"},
            "NIMBUS_ADMIN_ACCESS_KEY_ID is set but NIMBUS_ADMIN_SECRET_ACCESS_KEY",
        ),
    ],
)
def test_half_a_key_is_an_error_not_a_fallthrough(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    write_file(tmp_path)
    with pytest.raises(CredentialsError, match=message):
        find_credentials(env, tmp_path)


# --- The credentials file --------------------------------------------------------------------


def test_parse_credentials_file_reads_the_nimbus_profile() -> None:
    text = (
        "[default]\naws_access_key_id = OTHER\naws_secret_access_key = other\n\n"
        "[nimbus]\naws_access_key_id = AKIA1\naws_secret_access_key = sec%ret=\n"
        "aws_session_token = tok\n"
    )
    found = parse_credentials_file(text, source="f")
    assert (found.access_key_id, found.secret_access_key, found.session_token) == (
        "AKIA1",
        "sec%ret=",  # no interpolation: a secret is taken as written
        "tok",
    )
    assert found.region is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[default]\naws_access_key_id = A\naws_secret_access_key = B\n", r"no \[nimbus\]"),
        ("[nimbus]\naws_access_key_id = A\n", "needs both"),
        ("aws_access_key_id = A\n", "is not a credentials file"),
    ],
)
def test_parse_credentials_file_errors(text: str, message: str) -> None:
    with pytest.raises(CredentialsError, match=message):
        parse_credentials_file(text, source="f")


# --- Signing -------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "session-token-1"])
@pytest.mark.parametrize(
    ("method", "path", "query", "body", "service"),
    [
        ("POST", "/2015-03-31/functions/fn%3Alive/invocations", "", b'{"n": 1}', "lambda"),
        ("GET", "/_nimbus/logs/my-fn", "after=12&x=a%20b", b"", "logs"),
        ("POST", "/", "", b"Action=ListAccessKeys&Version=2010-05-08", "iam"),
        ("GET", f"/2015-03-31/functions/{ARN}", "Qualifier=%241", b"", "lambda"),
    ],
)
def test_sign_matches_botocore(
    method: str, path: str, query: str, body: bytes, service: str, token: str | None
) -> None:
    creds = Credentials(
        access_key_id=KEY.access_key_id,
        secret_access_key=KEY.secret_access_key,
        session_token=token,
        source="test",
    )
    host = "127.0.0.1:9001"
    ours = sign(
        method=method,
        raw_path=path.encode(),
        query=query.encode(),
        host=host,
        body=body,
        credentials=creds,
        region="us-east-1",
        service=service,
        now=NOW.timestamp(),
    )
    url = f"http://{host}{path}" + (f"?{query}" if query else "")
    botocore = sign_headers(
        method,
        url,
        [("Host", host)],
        body,
        access_key_id=creds.access_key_id,
        secret_access_key=creds.secret_access_key,
        region="us-east-1",
        service=service,
        session_token=token,
        at=NOW.replace(tzinfo=None),
    )
    assert ours == botocore


def test_sigv4_auth_signs_what_httpx_sends_and_the_server_accepts_it() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    auth = SigV4Auth(KEY, region="us-east-1", service="lambda", clock=lambda: 1_700_000_000.0)
    with httpx.Client(transport=httpx.MockTransport(handler), base_url="http://h:1") as client:
        client.post(
            "/2015-03-31/functions/fn:live/invocations",
            params={"Qualifier": "a b", "z": "1"},
            content=b"{}",
            auth=auth,
        )
    [request] = seen
    raw_path, _, query = request.url.raw_path.partition(b"?")
    received = signed_request.HttpRequest(
        method=request.method,
        raw_path=raw_path,
        query_string=query,
        headers=[(k.lower().encode(), v.encode()) for k, v in request.headers.multi_items()],
    )
    signed = signed_request.parse(received)
    assert signed.access_key_id == KEY.access_key_id
    assert signed.service == "lambda"
    sigv4.verify(signed, received, KEY.secret_access_key, body=b"{}")
    with pytest.raises(InvalidSignatureError):
        sigv4.verify(signed, received, "another-secret", body=b"{}")
    assert "x-amz-content-sha256" not in request.headers  # the body's hash is signed, not sent


def test_iam_is_signed_for_the_global_region() -> None:
    target = Target(endpoint="http://h:1", credentials=KEY, region="eu-west-1")
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        client.get("http://h:1/", auth=target.auth("iam"))
        client.get("http://h:1/x", auth=target.auth("lambda"))
    assert "/us-east-1/iam/aws4_request" in seen[0].headers["authorization"]
    assert "/eu-west-1/lambda/aws4_request" in seen[1].headers["authorization"]
    assert Target(endpoint="http://h:1", credentials=None, region="x").auth("iam") is None


# --- Error lines ---------------------------------------------------------------------------


def test_error_parts_reads_every_protocols_shape() -> None:
    lam = httpx.Response(
        404,
        headers={"x-amzn-errortype": "ResourceNotFoundException:http://internal"},
        json={"Type": "User", "message": "Function not found: fn"},
    )
    assert error_parts(lam) == ("ResourceNotFoundException", "Function not found: fn")
    iam = httpx.Response(
        404,
        text="<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code>"
        "<Message>The user with name bob cannot be found.</Message></Error></ErrorResponse>",
    )
    assert error_parts(iam) == ("NoSuchEntity", "The user with name bob cannot be found.")
    assert error_parts(httpx.Response(502, text="bad\n gateway")) == ("HTTP 502", "bad gateway")
    assert error_parts(httpx.Response(500, text="{not json")) == ("HTTP 500", "{not json")


def test_explain_hints_at_the_credentials() -> None:
    missing = httpx.Response(
        403,
        headers={"x-amzn-errortype": "MissingAuthenticationTokenException"},
        json={"message": "Missing Authentication Token"},
    )
    unsigned = Target(
        endpoint="http://h:1",
        credentials=None,
        region="us-east-1",
        credentials_file=Path(".nimbus/admin.credentials"),
    )
    line = unsigned.explain(missing)
    assert line.startswith("MissingAuthenticationTokenException: Missing Authentication Token")
    assert "no credentials found" in line
    assert line.endswith(
        "--data-dir at the server's data directory, which holds "
        "admin.credentials; there is no .nimbus/admin.credentials)"
    )
    bad_key = httpx.Response(
        403,
        text="<ErrorResponse><Error><Code>InvalidClientTokenId</Code>"
        "<Message>The security token included in the request is invalid.</Message>"
        "</Error></ErrorResponse>",
    )
    signed = Target(endpoint="http://h:1", credentials=KEY, region="us-east-1")
    line = signed.explain(bad_key)
    assert line.startswith("InvalidClientTokenId: The security token")
    assert f"signed with {KEY.access_key_id} from test" in line
    assert KEY.secret_access_key not in line


# --- Commands fail in one line -------------------------------------------------------------

runner = CliRunner()


@pytest.mark.parametrize(
    "args",
    [
        ["credentials", "list"],
        ["credentials", "create", "--user", "bob"],
        ["credentials", "delete", "AKIAXXXXXXXXXXXXXXXX"],
        ["invoke", "fn"],
        ["logs", "fn"],
        ["metrics"],
    ],
)
def test_a_server_that_is_down_is_one_line_and_exit_1(
    args: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFROMAWSENV000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    endpoint = f"http://127.0.0.1:{free_port()}"
    result = runner.invoke(app, [*args, "--endpoint", endpoint, "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stderr.startswith(f"Cannot reach Nimbus at {endpoint}")
    assert len(result.stderr.strip().splitlines()) == 1


def test_half_set_credentials_are_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFROMAWSENV000000")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    result = runner.invoke(app, ["credentials", "list", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not: set both, or neither."
    )
