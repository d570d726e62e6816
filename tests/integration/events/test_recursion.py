"""End to end: recursive loop detection. A function that re-invokes itself asynchronously
(boto3 inside the function, through AWS_ENDPOINT_URL) is stopped after 16 invocations, the
drop is counted in RecursiveInvocationsDropped, and RecursiveLoop=Allow lets it go on."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.events.helpers import metrics, wait_for
from tests.support import NimbusServer, create_function, error_of, make_zip, settle

SELF_INVOKER = make_zip(
    {
        "app.py": (
            "import json, os, boto3\n"
            "lam = boto3.client('lambda')\n"
            "def handler(event, context):\n"
            "    n = event.get('n', 0) + 1\n"
            "    print('HOP', n)\n"
            "    if n < event.get('limit', 40):\n"
            "        lam.invoke(FunctionName=os.environ['AWS_LAMBDA_FUNCTION_NAME'],\n"
            "                   InvocationType='Event',\n"
            "                   Payload=json.dumps({'n': n, 'limit': event.get('limit', 40)}))\n"
            "    return n\n"
        )
    }
)


def invoker_role(server: NimbusServer, name: str) -> str:
    """An execution role that lets the function invoke (itself)."""
    return server.create_role(f"{name}-role"[:64], ["lambda:InvokeFunction"])


def test_recursion_config_defaults_to_terminate_and_takes_allow(lam: Any, fname: str) -> None:
    create_function(lam, fname, code=SELF_INVOKER)
    assert lam.get_function_recursion_config(FunctionName=fname)["RecursiveLoop"] == "Terminate"
    put = lam.put_function_recursion_config(FunctionName=fname, RecursiveLoop="Allow")
    assert put["RecursiveLoop"] == "Allow"
    assert lam.get_function_recursion_config(FunctionName=fname)["RecursiveLoop"] == "Allow"
    with pytest.raises(ClientError) as exc:
        lam.put_function_recursion_config(FunctionName=fname, RecursiveLoop="Sometimes")
    assert error_of(exc)[:2] == ("ValidationException", 400)
    with pytest.raises(ClientError) as exc:
        lam.get_function_recursion_config(FunctionName="no-such-function")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_an_async_self_loop_is_stopped_after_16_invocations(
    server: NimbusServer, lam: Any, fname: str
) -> None:
    role = invoker_role(server, fname)
    create_function(lam, fname, code=SELF_INVOKER, Timeout=30, Role=role)
    settle(lam, fname)
    lam.invoke(FunctionName=fname, InvocationType="Event", Payload=b'{"limit": 40}')
    wait_for(server, fname, "RecursiveInvocationsDropped", 1, timeout=90)
    time.sleep(1.0)  # nothing more runs after the stop
    figures = metrics(server, fname)
    assert figures["Invocations"] == 16
    assert figures["RecursiveInvocationsDropped"] == 1


def test_allow_lets_the_loop_go_past_16(server: NimbusServer, lam: Any, fname: str) -> None:
    role = invoker_role(server, fname)
    create_function(lam, fname, code=SELF_INVOKER, Timeout=30, Role=role)
    settle(lam, fname)
    lam.put_function_recursion_config(FunctionName=fname, RecursiveLoop="Allow")
    lam.invoke(FunctionName=fname, InvocationType="Event", Payload=b'{"limit": 20}')
    wait_for(server, fname, "Invocations", 20, timeout=90)
    assert metrics(server, fname)["RecursiveInvocationsDropped"] == 0
