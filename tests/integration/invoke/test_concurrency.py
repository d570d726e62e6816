"""End to end: reserved concurrency, throttles, account limits, provisioned concurrency and
eviction under a small host memory budget."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.invoke.helpers import call, deploy
from tests.support import NimbusServer

SLEEPY = "import time\ndef handler(e, c):\n    time.sleep(e.get('sleep', 0))\n    return 'ok'\n"


def invoke_status(lam: Any, name: str, payload: dict[str, Any]) -> str:
    try:
        call(lam, name, payload)
        return "ok"
    except ClientError as exc:
        return f"{exc.response['Error']['Code']}:{exc.response.get('Reason', '')}"


def test_reserved_zero_throttles_with_reason(lam: Any, fname: str) -> None:
    deploy(lam, fname, SLEEPY)
    lam.put_function_concurrency(FunctionName=fname, ReservedConcurrentExecutions=0)
    assert lam.get_function_concurrency(FunctionName=fname)["ReservedConcurrentExecutions"] == 0
    assert lam.get_function(FunctionName=fname)["Concurrency"] == {
        "ReservedConcurrentExecutions": 0
    }
    with pytest.raises(ClientError) as exc:
        lam.invoke(FunctionName=fname, Payload=b"{}")
    err = exc.value.response
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert err["Error"]["Code"] == "TooManyRequestsException"
    assert err["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert "retry-after" in err["ResponseMetadata"]["HTTPHeaders"]
    lam.delete_function_concurrency(FunctionName=fname)
    assert (
        lam.get_function_concurrency(FunctionName=fname).get("ReservedConcurrentExecutions") is None
    )
    assert call(lam, fname, {})[1] == "ok"


def test_reserved_one_with_two_parallel_slow_invokes_throttles_exactly_one(
    lam: Any, fname: str
) -> None:
    deploy(lam, fname, SLEEPY)
    lam.put_function_concurrency(FunctionName=fname, ReservedConcurrentExecutions=1)
    call(lam, fname, {})  # warm it so both calls race on invocation, not on the cold start
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: invoke_status(lam, fname, {"sleep": 1.0}), range(2)))
    assert sorted(results) == [
        "TooManyRequestsException:ReservedFunctionConcurrentInvocationLimitExceeded",
        "ok",
    ]


def test_reservation_must_leave_100_unreserved(lam: Any, fname: str) -> None:
    deploy(lam, fname, SLEEPY)
    with pytest.raises(ClientError) as exc:
        lam.put_function_concurrency(FunctionName=fname, ReservedConcurrentExecutions=901)
    assert exc.value.response["Error"]["Code"] == "InvalidParameterValueException"
    with pytest.raises(ClientError) as missing:
        lam.put_function_concurrency(FunctionName=f"{fname}-nope", ReservedConcurrentExecutions=1)
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"


@pytest.fixture
def small_server(tmp_path: Path) -> Iterator[NimbusServer]:
    server = NimbusServer(
        data_dir=tmp_path / "data",
        env={"NIMBUS_ACCOUNT_CONCURRENCY": "102", "NIMBUS_HOST_MEMORY_MB": "512"},
    )
    server.start()
    yield server
    server.stop()


def test_account_limit_exhaustion(small_server: NimbusServer) -> None:
    lam = small_server.client()
    deploy(lam, "slow", SLEEPY)
    deploy(lam, "other", SLEEPY)
    settings = lam.get_account_settings()["AccountLimit"]
    assert settings["ConcurrentExecutions"] == 102
    # Reserve 2 for `slow`: the unreserved pool is exactly the 100 AWS insists on.
    lam.put_function_concurrency(FunctionName="slow", ReservedConcurrentExecutions=2)
    assert lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == 100
    with pytest.raises(ClientError):
        lam.put_function_concurrency(FunctionName="other", ReservedConcurrentExecutions=1)


def test_eviction_under_small_memory_budget(small_server: NimbusServer) -> None:
    lam = small_server.client()
    for i in range(4):
        deploy(lam, f"f{i}", "def handler(e, c):\n    return 1\n", MemorySize=128)
    for i in range(4):  # fills the 512 MB budget with four idle environments
        assert call(lam, f"f{i}", {})[1] == 1
    deploy(lam, "big", "def handler(e, c):\n    return 'big'\n", MemorySize=256)
    assert call(lam, "big", {})[1] == "big"  # evicts the two least recently used
    response, _ = call(lam, "f3", {}, LogType="Tail")  # most recent survivor: still warm
    assert "Init Duration" not in base64.b64decode(response["LogResult"]).decode()
    response, _ = call(lam, "f0", {}, LogType="Tail")  # evicted: cold again
    assert "Init Duration" in base64.b64decode(response["LogResult"]).decode()
    deploy(lam, "huge", "def handler(e, c):\n    return 1\n", MemorySize=1024)
    with pytest.raises(ClientError) as exc:
        lam.invoke(FunctionName="huge", Payload=b"{}")
    assert exc.value.response["Error"]["Code"] == "TooManyRequestsException"


def test_provisioned_environments_exist_before_first_invoke(lam: Any, fname: str) -> None:
    deploy(
        lam,
        fname,
        "import os\ndef handler(e, c):\n    return os.environ['AWS_LAMBDA_INITIALIZATION_TYPE']\n",
    )
    version = lam.publish_version(FunctionName=fname)["Version"]
    with pytest.raises(ClientError) as latest:
        lam.put_provisioned_concurrency_config(
            FunctionName=fname, Qualifier="$LATEST", ProvisionedConcurrentExecutions=1
        )
    assert latest.value.response["Error"]["Code"] == "InvalidParameterValueException"
    put = lam.put_provisioned_concurrency_config(
        FunctionName=fname, Qualifier=version, ProvisionedConcurrentExecutions=2
    )
    assert put["RequestedProvisionedConcurrentExecutions"] == 2
    assert put["Status"] in ("IN_PROGRESS", "READY")
    deadline = time.monotonic() + 20
    config = put
    while time.monotonic() < deadline:
        config = lam.get_provisioned_concurrency_config(FunctionName=fname, Qualifier=version)
        if config["Status"] == "READY":
            break
        time.sleep(0.1)
    assert config["Status"] == "READY"
    assert config["AllocatedProvisionedConcurrentExecutions"] == 2
    assert config["AvailableProvisionedConcurrentExecutions"] == 2
    listed = lam.list_provisioned_concurrency_configs(FunctionName=fname)
    assert [
        c["FunctionArn"].rsplit(":", 1)[1] for c in listed["ProvisionedConcurrencyConfigs"]
    ] == [version]
    response, out = call(lam, fname, {}, Qualifier=version, LogType="Tail")
    assert out == "provisioned-concurrency"
    assert "Init Duration" not in base64.b64decode(response["LogResult"]).decode()
    lam.delete_provisioned_concurrency_config(FunctionName=fname, Qualifier=version)
    with pytest.raises(ClientError) as gone:
        lam.get_provisioned_concurrency_config(FunctionName=fname, Qualifier=version)
    assert gone.value.response["Error"]["Code"] == "ProvisionedConcurrencyConfigNotFoundException"


def test_metrics_count_invocations_errors_and_throttles(
    lam: Any, server: NimbusServer, fname: str
) -> None:
    deploy(
        lam,
        fname,
        "def handler(e, c):\n    if e.get('fail'):\n        raise Exception('x')\n    return 1\n",
    )
    call(lam, fname, {})
    call(lam, fname, {"fail": True})
    lam.put_function_concurrency(FunctionName=fname, ReservedConcurrentExecutions=0)
    with pytest.raises(ClientError):
        lam.invoke(FunctionName=fname, Payload=b"{}")
    with server.http() as http:  # signed: auth is on
        metrics = http.get("/_nimbus/metrics").json()["Functions"][fname]
        prometheus = http.get("/metrics").text
    assert metrics["Invocations"] == 2
    assert metrics["Errors"] == 1
    assert metrics["Throttles"] == 1
    assert metrics["MaxConcurrentExecutions"] == 1
    assert metrics["DurationMaximum"] > 0
    assert f'nimbus_invocations_total{{function="{fname}"}} 2' in prometheus
