"""End to end: concurrent PutProvisionedConcurrencyConfig calls on two qualifiers of one
function cannot together exceed its reserved concurrency (AWS checks the sum)."""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from tests.integration.invoke.helpers import deploy
from tests.support import make_zip


def test_concurrent_puts_never_exceed_the_reservation(lam: Any, fname: str) -> None:
    deploy(lam, fname, "def handler(e, c):\n    return 1\n")
    v1 = lam.publish_version(FunctionName=fname)["Version"]
    lam.update_function_code(
        FunctionName=fname, ZipFile=make_zip({"app.py": "def handler(e, c):\n    return 2\n"})
    )
    lam.get_waiter("function_updated_v2").wait(FunctionName=fname)
    v2 = lam.publish_version(FunctionName=fname)["Version"]
    assert v1 != v2
    lam.put_function_concurrency(FunctionName=fname, ReservedConcurrentExecutions=3)

    def put(qualifier: str) -> str:
        try:
            lam.put_provisioned_concurrency_config(
                FunctionName=fname, Qualifier=qualifier, ProvisionedConcurrentExecutions=2
            )
            return "ok"
        except ClientError as exc:
            return str(exc.response["Error"]["Code"])

    for _ in range(5):
        with ThreadPoolExecutor(2) as pool:
            results = sorted(pool.map(put, [v1, v2]))
        assert results == ["InvalidParameterValueException", "ok"]
        listed = lam.list_provisioned_concurrency_configs(FunctionName=fname)
        total = sum(
            c["RequestedProvisionedConcurrentExecutions"]
            for c in listed["ProvisionedConcurrencyConfigs"]
        )
        assert total == 2
        for qualifier in (v1, v2):
            with contextlib.suppress(ClientError):
                lam.delete_provisioned_concurrency_config(FunctionName=fname, Qualifier=qualifier)
