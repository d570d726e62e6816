"""Shared set-up of the SigV4 tests: one server region, one manual clock at a pinned time,
boto3-signed requests captured at that time, and an Authenticator over a dict of keys."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from nimbus.auth.authenticator import Authenticated, Authenticator
from nimbus.auth.principal import Principal, root
from nimbus.testing.clock import ManualClock
from nimbus.testing.credentials import StaticCredentials
from nimbus.testing.signing import CapturedRequest, boto3_request

REGION = "us-east-1"
SERVICES = frozenset({"lambda", "sqs", "sns", "iam", "sts", "logs"})
ENDPOINT = "http://127.0.0.1:9001"
AKID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TEMP_AKID = "ASIAIOSFODNN7EXAMPLE"
TEMP_SECRET = "temporary/secret/key/EXAMPLEKEY00000000000"
TOKEN = "FwoGZXIvYXdzEXAMPLE//session+token=="
SIGNED_AT = datetime(2026, 12, 2, 10, 10, 0, tzinfo=UTC)
ACCOUNT = "123456789012"
ROOT = root(ACCOUNT, AKID)
ROLE = Principal(
    kind="assumed-role",
    arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/worker/s1",
    account=ACCOUNT,
    name="worker",
    user_id="AROAEXAMPLE:s1",
    access_key_id=TEMP_AKID,
    session_name="s1",
    role_arn=f"arn:aws:iam::{ACCOUNT}:role/worker",
)


class Harness:
    def __init__(self, *, region: str = REGION) -> None:
        self.clock = ManualClock(SIGNED_AT.timestamp())
        self.keys = StaticCredentials(self.clock)
        self.keys.add(AKID, SECRET, ROOT)
        self.keys.add(
            TEMP_AKID,
            TEMP_SECRET,
            ROLE,
            session_token=TOKEN,
            expires_at=SIGNED_AT.timestamp() + 3600,
        )
        self.authenticator = Authenticator(
            self.keys, region=region, services=SERVICES, clock=self.clock
        )

    async def check(self, request: CapturedRequest, *, service: str | None = None) -> Authenticated:
        return await self.authenticator.authenticate(
            request.method,
            request.raw_path,
            request.query_string,
            request.asgi_headers(),
            request.body,
            service=service,
        )


def boto(
    service: str,
    call: Callable[[Any], object],
    *,
    secret: str = SECRET,
    akid: str = AKID,
    region: str = REGION,
    token: str | None = None,
    at: datetime = SIGNED_AT,
) -> CapturedRequest:
    return boto3_request(
        service,
        call,
        endpoint_url=ENDPOINT,
        region=region,
        access_key_id=akid,
        secret_access_key=secret,
        session_token=token,
        at=at,
    )


def with_header(request: CapturedRequest, name: str, value: str | None) -> CapturedRequest:
    """``request`` with header ``name`` replaced by ``value`` (removed when None)."""
    kept = tuple((k, v) for k, v in request.headers if k.lower() != name.lower())
    added = () if value is None else ((name, value),)
    return replace(request, headers=kept + added)


def header(request: CapturedRequest, name: str) -> str:
    return next(v for k, v in request.headers if k.lower() == name.lower())
