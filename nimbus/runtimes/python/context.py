"""The ``context`` object handed to Python handlers, with AWS's attribute names."""

from __future__ import annotations

import json
import os
import time
from typing import Any


class CognitoIdentity:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.cognito_identity_id = raw.get("cognitoIdentityId")
        self.cognito_identity_pool_id = raw.get("cognitoIdentityPoolId")


class Client:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.installation_id = raw.get("installation_id")
        self.app_title = raw.get("app_title")
        self.app_version_name = raw.get("app_version_name")
        self.app_version_code = raw.get("app_version_code")
        self.app_package_name = raw.get("app_package_name")


class ClientContext:
    def __init__(self, raw: dict[str, Any]) -> None:
        client = raw.get("client")
        self.client = Client(client) if isinstance(client, dict) else None
        self.custom = raw.get("custom")
        self.env = raw.get("env")


def _json_or_none(value: str | None) -> dict[str, Any] | None:
    if not value:
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


class LambdaContext:
    def __init__(
        self,
        *,
        request_id: str,
        deadline_ms: int,
        invoked_function_arn: str,
        client_context: str | None,
        cognito_identity: str | None,
    ) -> None:
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_function_arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "")
        # A string, as in AWS's Python runtime (it is read from the environment).
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self._deadline_ms = deadline_ms
        identity = _json_or_none(cognito_identity)
        self.identity = CognitoIdentity(identity or {})
        context = _json_or_none(client_context)
        self.client_context = ClientContext(context) if context is not None else None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},"
            f"function_name={self.function_name},function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn}])"
        )
