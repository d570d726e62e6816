"""Issue 12's "done when", end to end: a request whose signature cannot be accepted gets the
error AWS answers, in the spelling of the API it was for — Lambda's restJson
(``UnrecognizedClientException``, ``InvalidSignatureException``) or the query protocol's
(``InvalidClientTokenId``, ``SignatureDoesNotMatch``) — and nothing is done for it.

boto3 clients with wrong keys or regions; hand-built requests signed by botocore's own
``SigV4Auth`` (``nimbus.testing.signing``) for skewed dates, tampered bodies and
``UNSIGNED-PAYLOAD``.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import httpx
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from nimbus.auth.node_key import NodeKey
from nimbus.auth.session_tokens import SessionTokens
from nimbus.testing.clock import ManualClock
from nimbus.testing.server import ADMIN_ACCESS_KEY_ID, ADMIN_SECRET_ACCESS_KEY, REGION
from nimbus.testing.signing import sign_headers
from tests.integration.auth.helpers import ACCOUNT, MISMATCH
from tests.integration.invoke.helpers import deploy
from tests.support import NimbusServer, error_of

INVALID_TOKEN = "The security token included in the request is invalid."
ECHO = "def handler(event, context):\n    return {'echo': event}\n"


def _client(server: NimbusServer, service: str, **options: Any) -> Any:
    config = Config(retries={"max_attempts": 0}, signature_version=options.pop("signature", None))
    return boto3.client(
        service,
        endpoint_url=server.url,
        region_name=options.pop("region", REGION),
        aws_access_key_id=options.pop("key", ADMIN_ACCESS_KEY_ID),
        aws_secret_access_key=options.pop("secret", ADMIN_SECRET_ACCESS_KEY),
        aws_session_token=options.pop("token", None),
        config=config,
    )


def _error_type(response: httpx.Response) -> str:
    return str(response.headers.get("x-amzn-errortype", ""))


def _signed(
    server: NimbusServer,
    method: str,
    path: str,
    body: bytes = b"",
    *,
    at: datetime | None = None,
    service: str = "lambda",
    headers: tuple[tuple[str, str], ...] = (),
    scheme: str = "http",
) -> dict[str, str]:
    """The headers of ``method path`` signed with the administrator key by botocore."""
    host = server.url.removeprefix("http://")
    return {
        "Host": host,
        **dict(headers),
        **sign_headers(
            method,
            f"{scheme}://{host}{path}",
            [("Host", host), *headers],
            body,
            access_key_id=ADMIN_ACCESS_KEY_ID,
            secret_access_key=ADMIN_SECRET_ACCESS_KEY,
            region=REGION,
            service=service,
            at=at,
            unsigned_payload=scheme == "https",
        ),
    }


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


# A call of each service's that any administrator may make.
_CALLS: dict[str, Callable[[Any], object]] = {
    "lambda": lambda c: c.list_functions(),
    "sts": lambda c: c.get_caller_identity(),
    "iam": lambda c: c.list_users(),
    "sqs": lambda c: c.list_queues(),
}


def _list_functions_signed_at(server: NimbusServer, at: datetime) -> httpx.Response:
    """ListFunctions, signed by the administrator key as at ``at``."""
    path = "/2015-03-31/functions/"
    return httpx.get(server.url + path, headers=_signed(server, "GET", path, at=at), timeout=30)


_FORM = (("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),)
_CALLER = b"Action=GetCallerIdentity&Version=2011-06-15"


# --- No signature ---------------------------------------------------------------------------


def test_an_unsigned_lambda_request_is_missing_its_authentication_token(
    server: NimbusServer,
) -> None:
    raw = httpx.get(f"{server.url}/2015-03-31/functions/", timeout=30)
    assert raw.status_code == 403
    assert _error_type(raw) == "MissingAuthenticationTokenException"
    assert raw.json()["message"] == "Missing Authentication Token"

    with pytest.raises(ClientError) as caught:
        _client(server, "lambda", signature=UNSIGNED).list_functions()
    assert error_of(caught) == (
        "MissingAuthenticationTokenException",
        403,
        "Missing Authentication Token",
    )


@pytest.mark.parametrize("service", ["sts", "iam"])
def test_an_unsigned_query_request_gets_the_query_protocols_words(
    server: NimbusServer, service: str
) -> None:
    with pytest.raises(ClientError) as caught:
        _CALLS[service](_client(server, service, signature=UNSIGNED))
    assert error_of(caught) == (
        "MissingAuthenticationToken",
        403,
        "Request is missing Authentication Token",
    )


def test_an_unsigned_sqs_request_is_refused_before_it_reaches_a_queue(
    server: NimbusServer,
) -> None:
    with pytest.raises(ClientError) as caught:
        _client(server, "sqs", signature=UNSIGNED).list_queues()
    code, status, _ = error_of(caught)
    assert (code, status) == ("MissingAuthenticationToken", 403)


# --- Unknown key, wrong secret ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "code"),
    [
        ("lambda", "UnrecognizedClientException"),
        ("sts", "InvalidClientTokenId"),
        ("iam", "InvalidClientTokenId"),
        ("sqs", "InvalidClientTokenId"),
    ],
)
def test_an_unknown_access_key_is_unrecognized(
    server: NimbusServer, service: str, code: str
) -> None:
    client = _client(server, service, key="AKIA" + uuid.uuid4().hex[:16].upper(), secret="x" * 40)
    with pytest.raises(ClientError) as caught:
        _CALLS[service](client)
    assert error_of(caught) == (code, 403, INVALID_TOKEN)


@pytest.mark.parametrize(
    ("service", "code"),
    [
        ("lambda", "InvalidSignatureException"),
        ("sts", "SignatureDoesNotMatch"),
        ("iam", "SignatureDoesNotMatch"),
        ("sqs", "SignatureDoesNotMatch"),
    ],
)
def test_a_wrong_secret_does_not_match_the_signature(
    server: NimbusServer, service: str, code: str
) -> None:
    client = _client(server, service, secret="not-the-admin-secret-" + "0" * 19)
    with pytest.raises(ClientError) as caught:
        _CALLS[service](client)
    assert error_of(caught) == (code, 403, MISMATCH)


def test_a_long_term_key_sent_with_a_session_token_is_invalid(server: NimbusServer) -> None:
    client = _client(server, "sts", token="a-token-no-long-term-key-has")
    with pytest.raises(ClientError) as caught:
        client.get_caller_identity()
    assert error_of(caught) == ("InvalidClientTokenId", 403, INVALID_TOKEN)


# --- Time ---------------------------------------------------------------------------------------


_EXPIRED = re.compile(
    r"Signature expired: (\d{8}T\d{6}Z) is now earlier than (\d{8}T\d{6}Z) "
    r"\((\d{8}T\d{6}Z) - (\d+) min\.\)"
)


def _window_start(message: str) -> tuple[str, datetime, datetime, int]:
    """(the signed stamp, window start, server's now, minutes) of a "Signature expired"."""
    found = _EXPIRED.fullmatch(message)
    assert found, message
    return found[1], _parse_stamp(found[2]), _parse_stamp(found[3]), int(found[4])


def _parse_stamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def test_a_request_signed_six_minutes_ago_has_expired(server: NimbusServer) -> None:
    at = datetime.now(UTC) - timedelta(minutes=6)
    response = _list_functions_signed_at(server, at)
    assert response.status_code == 403
    assert _error_type(response) == "InvalidSignatureException"
    stamp, start, now, minutes = _window_start(response.json()["message"])
    assert stamp == _stamp(at) and minutes == 5
    assert now - start == timedelta(minutes=5)
    assert abs((now - datetime.now(UTC)).total_seconds()) < 60


def test_a_request_signed_six_minutes_ahead_is_not_yet_current(server: NimbusServer) -> None:
    at = datetime.now(UTC) + timedelta(minutes=6)
    response = _list_functions_signed_at(server, at)
    assert (response.status_code, _error_type(response)) == (403, "InvalidSignatureException")
    message = response.json()["message"]
    assert message.startswith(f"Signature not yet current: {_stamp(at)} is still later than ")
    assert message.endswith(" + 5 min.)")


def test_a_request_signed_four_minutes_ago_is_still_accepted(server: NimbusServer) -> None:
    at = datetime.now(UTC) - timedelta(minutes=4)
    response = _list_functions_signed_at(server, at)
    assert response.status_code == 200, response.text
    assert "Functions" in response.json()


def test_sts_allows_fifteen_minutes_of_skew_as_aws_does(server: NimbusServer) -> None:
    ten_ago = datetime.now(UTC) - timedelta(minutes=10)
    ok = httpx.post(
        server.url + "/",
        content=_CALLER,
        headers=_signed(server, "POST", "/", _CALLER, at=ten_ago, service="sts", headers=_FORM),
        timeout=30,
    )
    assert ok.status_code == 200, ok.text
    assert f"<Arn>arn:aws:iam::{ACCOUNT}:root</Arn>" in ok.text

    twenty_ago = datetime.now(UTC) - timedelta(minutes=20)
    late = httpx.post(
        server.url + "/",
        content=_CALLER,
        headers=_signed(server, "POST", "/", _CALLER, at=twenty_ago, service="sts", headers=_FORM),
        timeout=30,
    )
    assert late.status_code == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in late.text
    message = re.search(r"<Message>(.*)</Message>", late.text)
    assert message is not None
    stamp, start, now, minutes = _window_start(message[1])
    assert (stamp, minutes) == (_stamp(twenty_ago), 15)
    assert now - start == timedelta(minutes=15)


def test_an_expired_session_token_is_refused_as_expired(server: NimbusServer) -> None:
    # A role session minted two hours ago for 15 minutes, sealed with the server's node key
    # (<data_dir>/node.key) as STS's own sessions are.
    node_key = NodeKey.load_or_create(server.data_dir / "node.key")
    past = ManualClock(start=datetime.now(UTC).timestamp() - 7200)
    old = SessionTokens(node_key, clock=past).mint(
        f"arn:aws:iam::{ACCOUNT}:role/expired-{uuid.uuid4().hex[:8]}", "old", duration_s=900
    )
    options = {
        "key": old.access_key_id,
        "secret": old.secret_access_key,
        "token": old.session_token,
    }
    with pytest.raises(ClientError) as lam:
        _client(server, "lambda", **options).list_functions()
    assert error_of(lam) == (
        "ExpiredTokenException",
        403,
        "The security token included in the request is expired",
    )
    with pytest.raises(ClientError) as sts:
        _client(server, "sts", **options).get_caller_identity()
    assert error_of(sts)[:2] == ("ExpiredToken", 403)


# --- Credential scope -------------------------------------------------------------------------


def test_a_credential_scoped_to_another_region_is_refused(server: NimbusServer) -> None:
    with pytest.raises(ClientError) as lam:
        _client(server, "lambda", region="eu-west-1").list_functions()
    code, status, message = error_of(lam)
    assert (code, status) == ("InvalidSignatureException", 403)
    assert message.startswith("Credential should be scoped to a valid region")
    assert "eu-west-1" in message

    # STS's regional endpoint of another region: SignatureDoesNotMatch, the region named.
    with pytest.raises(ClientError) as sts:
        _client(server, "sts", region="eu-west-1").get_caller_identity()
    assert error_of(sts) == (
        "SignatureDoesNotMatch",
        403,
        "Credential should be scoped to a valid region, not 'eu-west-1'. ",
    )


def test_a_lambda_request_scoped_to_another_service_is_refused(server: NimbusServer) -> None:
    path = "/2015-03-31/functions/"
    response = httpx.get(
        server.url + path, headers=_signed(server, "GET", path, service="sqs"), timeout=30
    )
    assert (response.status_code, _error_type(response)) == (403, "InvalidSignatureException")
    assert (
        response.json()["message"] == "Credential should be scoped to correct service: 'lambda'. "
    )


# --- The body -----------------------------------------------------------------------------------


def _update_path(name: str) -> str:
    return f"/2015-03-31/functions/{name}/configuration"


def test_a_body_tampered_with_after_signing_changes_nothing(
    server: NimbusServer, fname: str
) -> None:
    lam = server.client("lambda")
    deploy(lam, fname, ECHO, Environment={"Variables": {"MODE": "safe"}})
    path = _update_path(fname)
    signed_body = json.dumps({"Environment": {"Variables": {"MODE": "safe"}}}).encode()
    evil = json.dumps({"Environment": {"Variables": {"MODE": "owned"}}}).encode()
    json_type = (("Content-Type", "application/json"),)

    tampered = httpx.put(
        server.url + path,
        content=evil,
        headers=_signed(server, "PUT", path, signed_body, headers=json_type),
        timeout=30,
    )
    assert (tampered.status_code, _error_type(tampered)) == (403, "InvalidSignatureException")
    assert tampered.json()["message"] == MISMATCH

    # The same with the signed body's hash declared in X-Amz-Content-SHA256.
    declared = (*json_type, ("X-Amz-Content-SHA256", hashlib.sha256(signed_body).hexdigest()))
    hashed = httpx.put(
        server.url + path,
        content=evil,
        headers=_signed(server, "PUT", path, signed_body, headers=declared),
        timeout=30,
    )
    assert (hashed.status_code, _error_type(hashed)) == (403, "InvalidSignatureException")

    config = lam.get_function_configuration(FunctionName=fname)
    assert config["Environment"]["Variables"] == {"MODE": "safe"}


def test_an_unsigned_payload_is_accepted_and_acted_on(server: NimbusServer, fname: str) -> None:
    lam = server.client("lambda")
    deploy(lam, fname, ECHO)
    path = f"/2015-03-31/functions/{fname}/invocations"
    body = b'{"unsigned": true}'
    # Signed as over TLS with payload signing off: botocore sends X-Amz-Content-SHA256:
    # UNSIGNED-PAYLOAD and signs that string instead of the body's hash.
    headers = _signed(server, "POST", path, body, scheme="https")
    assert headers["X-Amz-Content-SHA256"] == "UNSIGNED-PAYLOAD"
    response = httpx.post(server.url + path, content=body, headers=headers, timeout=60)
    assert response.status_code == 200, response.text
    assert response.json() == {"echo": {"unsigned": True}}
